//! `wire::dns::parse_response` (and the `resolv.conf` / hosts readers): what a nameserver, or
//! anyone who can send a UDP datagram to our port, may answer.
//!
//! Properties: no panic on any bytes. A response is read against a query built from the
//! input (so the question often matches and the answer section is reached): the result is the
//! same however often it is asked, and only `Answer` ever yields addresses. The same bytes
//! with the query's id and flags and question written over their start (a well-formed
//! response to it, with whatever follows as answers) are read without panic too, and a reply
//! to another id is never accepted. `ResolvConf::parse` and `hosts::lookup` take the input as
//! text without panic, and at most 3 nameservers are kept.
#![no_main]

mod common;

use std::net::IpAddr;

use common::Rng;
use danmaku_wall::wire::dns::{QueryType, Reply, build_query, parse_response};
use danmaku_wall::wire::{hosts, resolv_conf::ResolvConf};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = ["redis", "redis.test.", "a.b.c.example.org", "x"];

fn check(response: &[u8], query: &[u8]) {
    let mut out: Vec<IpAddr> = Vec::new();
    let first = parse_response(response, query, &mut out);
    let mut again: Vec<IpAddr> = Vec::new();
    assert_eq!(parse_response(response, query, &mut again), first, "the same answer twice");
    assert_eq!(out, again);
    if !matches!(first, Ok(Reply::Answer { .. })) {
        assert!(out.is_empty(), "addresses only from an answer: {first:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    let qtype = if rng.bool() { QueryType::A } else { QueryType::Aaaa };
    let id = rng.next_u64() as u16;
    let mut query = Vec::new();
    build_query(id, NAMES[rng.below(NAMES.len())], qtype, &mut query).expect("a valid name");
    check(data, &query);
    // The input as the answers of a response to this very query.
    let mut response = query.clone();
    response[2] |= 0x80; // QR: a response
    response[3] = data.first().copied().unwrap_or(0) & 0x8f; // RA and the RCODE from the input
    response[6..8].copy_from_slice(&(rng.below(4) as u16).to_be_bytes()); // ANCOUNT
    response.extend_from_slice(data);
    check(&response, &query);
    let mut other = response.clone();
    other[0] ^= 0x01; // another id
    assert!(parse_response(&other, &query, &mut Vec::new()).is_err(), "a reply to another id");
    let text = String::from_utf8_lossy(data);
    assert!(ResolvConf::parse(&text).nameservers.len() <= 3);
    let _ = hosts::lookup(&text, "redis");
});
