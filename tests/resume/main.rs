//! Walls that lose nothing (INTERFACE.md, "Rooms over time: epochs, history and resume"),
//! against the real binary: `hello`, every combination of `since` and `epoch`, the history's
//! count and age limits, epochs across emptying, expiry and restart, `--history 0`,
//! `--max-rooms`, replays under `--max-backlog`, and what 10,000 full rooms cost in memory.
//!
//! The scenarios are in modules named for what they cover ([`since_epoch`], [`during_resume`], [`epochs`], [`replay_backlog`], [`memory`]),
//! each a function named for its test; the tests are declared here so that their names stay
//! at the crate root. Their helpers are in [`support`].

#[path = "../common/mod.rs"]
mod common;

mod during_resume;
mod epochs;
mod memory;
mod replay_backlog;
mod since_epoch;
mod support;

#[test]
fn without_since_nothing_is_replayed_and_recovered_is_absent() {
    since_epoch::without_since_nothing_is_replayed_and_recovered_is_absent();
}

#[test]
fn since_inside_the_window_replays_exactly_what_was_missed_then_live() {
    since_epoch::since_inside_the_window_replays_exactly_what_was_missed_then_live();
}

#[test]
fn replayed_danmaku_keep_their_time() {
    since_epoch::replayed_danmaku_keep_their_time();
}

#[test]
fn since_greater_than_last_is_recovered_with_nothing_replayed() {
    since_epoch::since_greater_than_last_is_recovered_with_nothing_replayed();
}

#[test]
fn since_older_than_the_window_is_not_recovered_but_what_is_retained_is_sent() {
    since_epoch::since_older_than_the_window_is_not_recovered_but_what_is_retained_is_sent();
}

#[test]
fn since_beyond_the_ttl_is_not_recovered() {
    since_epoch::since_beyond_the_ttl_is_not_recovered();
}

#[test]
fn another_epoch_replays_nothing() {
    since_epoch::another_epoch_replays_nothing();
}

#[test]
fn malformed_since_or_epoch_gets_400() {
    since_epoch::malformed_since_or_epoch_gets_400();
}

#[test]
fn walls_resuming_while_posts_keep_coming_miss_nothing_and_see_nothing_twice() {
    during_resume::walls_resuming_while_posts_keep_coming_miss_nothing_and_see_nothing_twice();
}

#[test]
fn a_room_emptied_and_reentered_within_the_ttl_keeps_its_epoch_and_ids() {
    epochs::a_room_emptied_and_reentered_within_the_ttl_keeps_its_epoch_and_ids();
}

#[test]
fn after_expiry_a_room_starts_a_new_epoch_from_id_1() {
    epochs::after_expiry_a_room_starts_a_new_epoch_from_id_1();
}

#[test]
fn a_restart_gives_a_new_epoch() {
    epochs::a_restart_gives_a_new_epoch();
}

#[test]
fn history_zero_retains_nothing_but_still_validates_and_reports() {
    epochs::history_zero_retains_nothing_but_still_validates_and_reports();
}

#[test]
fn max_rooms_refuses_a_new_room_but_not_existing_ones() {
    epochs::max_rooms_refuses_a_new_room_but_not_existing_ones();
}

#[test]
fn a_flood_of_full_resumes_never_passes_max_backlog() {
    replay_backlog::a_flood_of_full_resumes_never_passes_max_backlog();
}

#[test]
fn ten_thousand_rooms_with_full_histories_fit_in_memory() {
    memory::ten_thousand_rooms_with_full_histories_fit_in_memory();
}
