//! Epochs over time: a room emptied and re-entered, expired, or the server restarted;
//! `--history 0` and `--max-rooms`.

use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Server, Ws};
use crate::support::{post_acked, poster_with, resume, upgrade_status};

pub fn a_room_emptied_and_reentered_within_the_ttl_keeps_its_epoch_and_ids() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (poster, first) = poster_with(addr, "again", 2);
    drop(poster);
    thread::sleep(Duration::from_millis(300));
    let (mut ws, hello) = Ws::join(addr, "again");
    assert_eq!((hello.epoch.as_str(), hello.last), (first.epoch.as_str(), 2));
    assert_eq!(post_acked(&mut ws, "third"), 3);
}

pub fn after_expiry_a_room_starts_a_new_epoch_from_id_1() {
    let server = Server::start(&["--rate", "0", "--history-ttl", "0.5"]);
    let addr = server.addr();
    let (poster, first) = poster_with(addr, "expire", 2);
    drop(poster);
    thread::sleep(Duration::from_millis(1500));
    let (mut ws, hello) = Ws::join(addr, "expire");
    assert_ne!(hello.epoch, first.epoch, "a forgotten room reused its epoch");
    assert_eq!(hello.last, 0);
    assert_eq!(post_acked(&mut ws, "new"), 1);
    // A wall of the old epoch resuming gets nothing of the new one replayed.
    let (_ws, resumed, texts) = resume(addr, &format!("room=expire&since=2&epoch={}", first.epoch));
    assert_eq!((resumed.epoch, resumed.last, resumed.recovered), (hello.epoch, 1, Some(false)));
    assert!(texts.is_empty(), "{texts:?}");
}

pub fn a_restart_gives_a_new_epoch() {
    let server = Server::start(&["--rate", "0"]);
    let (_ws, before) = poster_with(server.addr(), "restart", 1);
    drop(_ws);
    drop(server);
    let server = Server::start(&["--rate", "0"]);
    let (_ws, after) = Ws::join(server.addr(), "restart");
    assert_ne!(after.epoch, before.epoch);
    assert_eq!(after.last, 0);
}

pub fn history_zero_retains_nothing_but_still_validates_and_reports() {
    let server = Server::start(&["--rate", "0", "--history", "0"]);
    let addr = server.addr();
    let (_poster, first) = poster_with(addr, "zero", 3);
    let (_ws, hello, texts) = resume(addr, "room=zero&since=0");
    assert_eq!((hello.last, hello.recovered), (3, Some(false)));
    assert!(texts.is_empty(), "{texts:?}");
    let (_ws, hello, texts) = resume(addr, "room=zero&since=2");
    assert_eq!(hello.recovered, Some(false));
    assert!(texts.is_empty(), "{texts:?}");
    for since in [3, 4, 1000] {
        let (_ws, hello, texts) = resume(addr, &format!("room=zero&since={since}&epoch={}", first.epoch));
        assert_eq!(hello.recovered, Some(true), "since={since} >= last");
        assert!(texts.is_empty(), "{texts:?}");
    }
    let (_ws, hello, _) = resume(addr, "room=zero&since=3&epoch=other");
    assert_eq!(hello.recovered, Some(false), "another epoch");
    assert_eq!(upgrade_status(addr, "/ws?room=zero&since=-1"), 400);
    assert_eq!(upgrade_status(addr, "/ws?room=zero&since=1&epoch=bad!"), 400);
}

pub fn max_rooms_refuses_a_new_room_but_not_existing_ones() {
    let server = Server::start(&["--rate", "0", "--max-rooms", "2"]);
    let addr = server.addr();
    let (_a, _) = Ws::join(addr, "a");
    let (b, _) = Ws::join(addr, "b");
    assert_eq!(upgrade_status(addr, "/ws?room=c"), 503, "a third room");
    let (_a2, hello) = Ws::join(addr, "a");
    assert_eq!(hello.room, "a", "an existing room still joins");
    assert_eq!(upgrade_status(addr, "/ws?room=b&since=0"), 101);
    // A room with nothing left (no members, no history) is forgotten and frees its place.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match upgrade_status(addr, "/ws?room=c") {
            101 => break,
            503 if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            other => panic!("room c after b emptied: {other}"),
        }
    }
    // A room that holds history keeps its place after its members leave.
    let server = Server::start(&["--rate", "0", "--max-rooms", "1"]);
    let (ws, _) = poster_with(server.addr(), "kept", 1);
    drop(ws);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(upgrade_status(server.addr(), "/ws?room=other"), 503);
    assert_eq!(upgrade_status(server.addr(), "/ws?room=kept"), 101);
}
