//! The contract: "On `/ws`, the first frame the server sends after the upgrade is `hello`". In
//! a cluster the `hello` waits for a Redis read; a wall that sends at once must still hear
//! `hello` first, then the answers to what it sent, in order.

use std::time::Duration;

use crate::common::{HttpClient, PING, PONG, TEXT, client_frame, upgrade_request};
use crate::nodes::{node, wait_health};
use crate::redis::Redis;

/// The upgrade, a ping and an invalid post in one write, before any `hello` can exist.
pub fn hello_comes_before_answers_to_what_the_wall_sent_at_once() {
    let redis = Redis::start(&[]);
    let n = node(&redis.url(), &[]);
    wait_health(n.addr(), 200, Duration::from_secs(10));
    for round in 0..5 {
        let room = format!("/ws?room=early{round}");
        let mut bytes = upgrade_request(n.addr(), &room);
        bytes.extend(client_frame(true, PING, b"early", [1, 2, 3, 4]));
        bytes.extend(client_frame(true, TEXT, br#"{"msg":"","ref":"bad"}"#, [5, 6, 7, 8]));
        let mut client = HttpClient::connect(n.addr());
        client.send(&bytes);
        assert_eq!(client.read_response(true).status, 101);
        let mut ws = client.into_ws();
        let first = ws.recv();
        assert_eq!(first.opcode, TEXT, "round {round}: {first:?}");
        assert!(first.text().starts_with(r#"{"type":"hello""#), "round {round}: first {}", first.text());
        let pong = ws.recv();
        assert_eq!((pong.opcode, &pong.payload[..]), (PONG, &b"early"[..]), "round {round}");
        let error = ws.recv_text();
        assert!(error.starts_with(r#"{"type":"error""#) && error.contains(r#""ref":"bad""#), "{error}");
    }
}
