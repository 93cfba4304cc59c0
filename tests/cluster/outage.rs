//! Redis going away under a cluster (INTERFACE.md, "Cluster", faults): a poster streaming
//! through the outage, and a post made while Redis is away.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::Ws;
use crate::nodes::join;
use crate::reading::read_until;

/// What a post refused for want of Redis says.
pub const UNAVAILABLE: &str = "temporarily unavailable";

/// How many posts [`stream_through`] makes.
pub const STREAMED: usize = 600;

/// A poster in `room` on `addr` posting every 5 ms for 3 s; the thread returns the answer
/// to each of its posts (acks and errors), in order.
pub fn stream_through(addr: SocketAddr, room: &'static str) -> thread::JoinHandle<Vec<String>> {
    thread::spawn(move || {
        let (mut ws, _) = join(addr, &format!("/ws?room={room}"));
        const N: usize = STREAMED;
        for k in 0..N {
            ws.post("stream", Some(&format!("m{k}")));
            thread::sleep(Duration::from_millis(5));
        }
        read_until(&mut ws, Duration::from_secs(10), |s| s.others.len() >= N).others
    })
}

/// A post on `wall` while Redis is away is answered with an error within 2 s; returns the
/// danmaku ids that came before the answer.
pub fn post_while_down(wall: &mut Ws) -> Vec<u64> {
    wall.post("while down", Some("down1"));
    let started = Instant::now();
    let seen = read_until(wall, Duration::from_secs(3), |s| s.others.iter().any(|o| o.contains("down1")));
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}", started.elapsed());
    let answer = seen.others.iter().find(|o| o.contains("down1")).unwrap();
    assert!(answer.contains("\"type\":\"error\"") && answer.contains(UNAVAILABLE), "{answer}");
    seen.ids
}
