//! Floods against the real binary over loopback: slowloris heads, reset storms, tiny
//! fragments, announced-but-never-sent payloads, a wall that never reads, more connections
//! than allowed, running out of file descriptors, and SIGTERM under load. Each test checks
//! the server's own resources (`/proc/PID`: descriptors, resident memory, CPU time) as well
//! as what clients see, and prints the figures it measured.
//!
//! The tests take a lock so that they run one at a time: most assert timings or resource
//! figures that a neighbour hammering the same two cores would blur. Each test's scenario,
//! with its assertions, is in the module named for its flood.

#[path = "../common/mod.rs"]
mod common;

mod announced;
mod fragments;
mod limits;
mod never_reading;
mod shutdown_load;
mod slowloris;
mod storm;
mod support;
mod unread;

use support::exclusive;

/// 300 heads trickled a byte every 200 ms are closed at `--request-timeout` (2 s), while a
/// normal `GET /` every 250 ms is answered within 500 ms; the descriptors come back.
#[test]
fn slowloris_heads_are_closed_and_others_are_served_meanwhile() {
    let _one = exclusive();
    slowloris::heads_are_closed_and_others_are_served_meanwhile();
}

/// 2000 connections reset at every stage: the descriptors return to the baseline (± 3) and
/// the room and /echo still work.
#[test]
fn a_reset_storm_leaves_no_descriptor_behind() {
    let _one = exclusive();
    storm::leaves_no_descriptor_behind();
}

/// 65,536 one-byte fragments are echoed as one message; 200,000 are closed with 1009, the
/// resident memory growing by less than 4 MiB.
#[test]
fn one_byte_fragments_are_reassembled_up_to_max_message_and_no_further() {
    let _one = exclusive();
    fragments::reassembled_up_to_max_message_and_no_further();
}

/// A 2^62-byte header is closed with 1009 at once; 1000 connections announcing 60 KiB each
/// cost less than 8 MiB of resident memory.
#[test]
fn announced_lengths_are_not_allocated_up_front() {
    let _one = exclusive();
    announced::not_allocated_up_front();
}

/// 2000 pipelined requests from a client that does not read: every answer comes, in order,
/// and the server's memory stays flat meanwhile.
#[test]
fn a_client_that_pipelines_without_reading_is_paused_not_buffered() {
    let _one = exclusive();
    unread::pipelining_client_is_paused_not_buffered();
}

/// 300 × 64 KiB echo messages from a client that does not read: every echo comes, in
/// order, and the server's memory stays flat meanwhile.
#[test]
fn an_echo_client_that_does_not_read_is_paused_not_buffered() {
    let _one = exclusive();
    unread::echo_client_is_paused_not_buffered();
}

/// 20,000 posts: a wall that never reads is closed with 1008, the 5 readers and the poster
/// get every post in order, and the poster still answers a ping.
#[test]
fn a_wall_that_never_reads_is_closed_with_1008_and_the_others_get_everything() {
    let _one = exclusive();
    never_reading::closed_with_1008_and_the_others_get_everything();
}

/// With `--max-connections 50`, the 51st to 60th get a 503; once 10 close, 10 new ones are
/// served, then it is full again.
#[test]
fn past_max_connections_new_ones_get_503_until_some_close() {
    let _one = exclusive();
    limits::new_ones_get_503_until_some_close();
}

/// Under `ulimit -n 64`, accepting pauses when descriptors run out (less than 0.3 s of CPU
/// over 1.5 s) and resumes, serving those waiting, when 20 are freed.
#[test]
fn out_of_descriptors_pauses_accepting_without_spinning() {
    let _one = exclusive();
    limits::out_of_descriptors_pauses_accepting_without_spinning();
}

/// SIGTERM with 300 WebSockets and 20 keep-alive connections: one whole 1001 close frame
/// each, every connection closed, exit 0 within 2.5 s.
#[test]
fn sigterm_under_load_closes_every_websocket_with_a_whole_1001() {
    let _one = exclusive();
    shutdown_load::closes_every_websocket_with_a_whole_1001();
}
