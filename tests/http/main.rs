//! HTTP/1.1 against the real binary: pages, content types, validators, HEAD, keep-alive,
//! pipelining, errors and limits, path traversal, `--www`, timeouts and `--max-connections`.
//!
//! The scenarios are in modules named for what they cover ([`pages`], [`connections`], [`refusals`], [`traversal`], [`timeouts`]),
//! each a function named for its test; the tests are declared here so that their names stay
//! at the crate root. Their helpers are in [`support`].

#[path = "../common/mod.rs"]
mod common;

mod connections;
mod pages;
mod refusals;
mod support;
mod timeouts;
mod traversal;

#[test]
fn pages_are_served_as_html() {
    pages::pages_are_served_as_html();
}

#[test]
fn assets_have_the_right_content_type() {
    pages::assets_have_the_right_content_type();
}

#[test]
fn etag_and_if_none_match() {
    pages::etag_and_if_none_match();
}

#[test]
fn head_has_headers_and_no_body() {
    connections::head_has_headers_and_no_body();
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    connections::keep_alive_serves_two_requests_on_one_connection();
}

#[test]
fn http10_without_keep_alive_closes() {
    connections::http10_without_keep_alive_closes();
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    connections::pipelined_requests_are_answered_in_order();
}

#[test]
fn missing_file_is_404() {
    refusals::missing_file_is_404();
}

#[test]
fn other_methods_are_405_with_allow() {
    refusals::other_methods_are_405_with_allow();
}

#[test]
fn malformed_requests_are_400() {
    refusals::malformed_requests_are_400();
}

#[test]
fn http11_without_host_is_400() {
    refusals::http11_without_host_is_400();
}

#[test]
fn a_request_body_is_refused_and_the_connection_closes() {
    refusals::a_request_body_is_refused_and_the_connection_closes();
}

#[test]
fn head_over_8192_bytes_is_431() {
    refusals::head_over_8192_bytes_is_431();
}

#[test]
fn more_than_64_headers_is_431() {
    refusals::more_than_64_headers_is_431();
}

#[test]
fn over_long_request_line_is_414() {
    refusals::over_long_request_line_is_414();
}

#[test]
fn traversal_attempts_are_404_and_never_leak() {
    traversal::traversal_attempts_are_404_and_never_leak();
}

#[test]
fn absolute_form_traversal_is_404_and_never_leaks() {
    traversal::absolute_form_traversal_is_404_and_never_leaks();
}

#[test]
fn www_folder_is_served_and_symlinks_out_are_404() {
    traversal::www_folder_is_served_and_symlinks_out_are_404();
}

#[test]
fn request_timeout_closes_a_partial_head() {
    timeouts::request_timeout_closes_a_partial_head();
}

#[test]
fn keepalive_timeout_closes_an_idle_connection() {
    timeouts::keepalive_timeout_closes_an_idle_connection();
}
