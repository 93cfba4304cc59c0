//! Moderation (INTERFACE.md, "Moderation (`/admin`)") against the real binary: who may sign
//! in and every way of being refused, then every admin action and what walls, posters and
//! other admins see of it, and the audit log (which names the admin and never the token).
//!
//! The scenarios are in modules named for what they cover ([`sign_in`], [`room_actions`],
//! [`holding`], [`blocklist`], [`audit`]), each a function named for its test; the tests
//! are declared here so that their names stay at the crate root.

#[path = "../common/mod.rs"]
mod common;

mod admin;
mod audit;
mod blocklist;
mod holding;
mod room_actions;
mod sign_in;
mod support;

#[test]
fn admin_is_404_without_a_token() {
    sign_in::admin_is_404_without_a_token();
}

#[test]
fn a_short_or_missing_token_exits_2() {
    sign_in::a_short_or_missing_token_exits_2();
}

#[test]
fn wrong_token_or_another_first_message_closes_1008_without_admin_data() {
    sign_in::wrong_token_or_another_first_message_closes_1008_without_admin_data();
}

#[test]
fn a_token_in_the_query_string_does_not_authenticate() {
    sign_in::a_token_in_the_query_string_does_not_authenticate();
}

#[test]
fn five_failures_within_a_minute_earn_429() {
    sign_in::five_failures_within_a_minute_earn_429();
}

#[test]
fn no_auth_within_10_seconds_closes_1008() {
    sign_in::no_auth_within_10_seconds_closes_1008();
}

#[test]
fn cross_origin_admin_upgrades_get_403_even_with_allow_origin_star() {
    sign_in::cross_origin_admin_upgrades_get_403_even_with_allow_origin_star();
}

#[test]
fn admin_requests_on_ws_are_just_invalid_posts() {
    sign_in::admin_requests_on_ws_are_just_invalid_posts();
}

#[test]
fn an_oversized_admin_message_closes_1009() {
    sign_in::an_oversized_admin_message_closes_1009();
}

#[test]
fn state_after_auth_lists_rooms_blocklist_and_bans() {
    room_actions::state_after_auth_lists_rooms_blocklist_and_bans();
}

#[test]
fn delete_reaches_walls_and_is_replayed_as_an_event_not_as_the_danmaku() {
    room_actions::delete_reaches_walls_and_is_replayed_as_an_event_not_as_the_danmaku();
}

#[test]
fn clear_reaches_walls_and_nothing_before_it_is_replayed() {
    room_actions::clear_reaches_walls_and_nothing_before_it_is_replayed();
}

#[test]
fn ban_mutes_an_address_until_lifted_or_expired() {
    room_actions::ban_mutes_an_address_until_lifted_or_expired();
}

#[test]
fn slow_mode_allows_one_post_per_interval_and_says_how_long() {
    room_actions::slow_mode_allows_one_post_per_interval_and_says_how_long();
}

#[test]
fn a_short_slow_interval_runs_out() {
    room_actions::a_short_slow_interval_runs_out();
}

#[test]
fn lock_pauses_a_room() {
    room_actions::lock_pauses_a_room();
}

#[test]
fn held_posts_wait_for_approval_or_rejection() {
    holding::held_posts_wait_for_approval_or_rejection();
}

#[test]
fn two_admins_approving_the_same_key_broadcast_it_once() {
    holding::two_admins_approving_the_same_key_broadcast_it_once();
}

#[test]
fn turning_hold_off_leaves_pending_posts_approvable() {
    holding::turning_hold_off_leaves_pending_posts_approvable();
}

#[test]
fn a_held_post_survives_its_room_emptying_and_is_approved_later() {
    holding::a_held_post_survives_its_room_emptying_and_is_approved_later();
}

#[test]
fn blocklist_edits_apply_live_persist_and_survive_a_restart() {
    blocklist::blocklist_edits_apply_live_persist_and_survive_a_restart();
}

#[test]
fn blocklist_edits_without_a_file_apply_live_only() {
    blocklist::blocklist_edits_without_a_file_apply_live_only();
}

#[test]
fn every_admin_action_is_logged_with_the_address_and_never_the_token() {
    audit::every_admin_action_is_logged_with_the_address_and_never_the_token();
}

#[test]
fn admins_hear_of_rooms_appearing_and_changing() {
    audit::admins_hear_of_rooms_appearing_and_changing();
}
