//! `since` and `epoch` on a wall's URL: what is replayed, `recovered`, the history's count
//! and age limits, and malformed values.

use std::thread;
use std::time::Duration;

use crate::common::{Server, Ws};
use crate::support::{danmaku, ids, post_acked, poster_with, resume, texts_until_quiet, upgrade_status};

pub fn without_since_nothing_is_replayed_and_recovered_is_absent() {
    let server = Server::start(&["--rate", "0", "--history", "10"]);
    let addr = server.addr();
    let (_poster, first) = poster_with(addr, "plain", 3);
    assert_eq!((first.last, first.recovered), (0, None));
    let (_ws, hello, texts) = resume(addr, "room=plain");
    assert_eq!((hello.last, hello.recovered, hello.epoch), (3, None, first.epoch));
    assert!(texts.is_empty(), "replayed without since: {texts:?}");
    // An epoch without since is ignored, however it is spelled.
    let (_ws, hello, texts) = resume(addr, "room=plain&epoch=bad!");
    assert_eq!((hello.last, hello.recovered), (3, None));
    assert!(texts.is_empty(), "{texts:?}");
}

pub fn since_inside_the_window_replays_exactly_what_was_missed_then_live() {
    let server = Server::start(&["--rate", "0", "--history", "10"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "win", 5);
    let epoch = first.epoch.clone();
    for (last, query) in [(5, "room=win&since=2".to_string()), (6, format!("room=win&since=2&epoch={epoch}"))] {
        let (mut ws, hello, texts) = resume(addr, &query);
        assert_eq!((hello.last, hello.recovered, hello.epoch.as_str()), (last, Some(true), epoch.as_str()), "{query}");
        let got = danmaku(&texts);
        let mut expected: Vec<(u64, String)> = vec![(3, "m3".into()), (4, "m4".into()), (5, "m5".into())];
        if last == 6 {
            expected.push((6, "live".into()));
        }
        assert_eq!(got, expected, "{query}");
        let id = post_acked(&mut poster, "live");
        let live = texts_until_quiet(&mut ws, Duration::from_millis(300));
        assert_eq!(ids(&live), vec![id], "{query}: live after replay");
    }
    // since=0: everything retained, in order.
    let (_ws, hello, texts) = resume(addr, "room=win&since=0");
    assert_eq!((hello.last, hello.recovered), (7, Some(true)));
    assert_eq!(ids(&texts), (1..=7).collect::<Vec<_>>());
    // since = last: nothing to replay, nothing lost.
    let (_ws, hello, texts) = resume(addr, "room=win&since=7");
    assert_eq!((hello.last, hello.recovered), (7, Some(true)));
    assert!(texts.is_empty(), "{texts:?}");
}

pub fn replayed_danmaku_keep_their_time() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut poster, _) = Ws::join(addr, "times");
    poster.post("when", None);
    let live = poster.recv_text();
    thread::sleep(Duration::from_millis(30));
    let (_ws, _, texts) = resume(addr, "room=times&since=0");
    assert_eq!(texts, vec![live], "a replayed danmaku is the very frame that was broadcast");
}

pub fn since_greater_than_last_is_recovered_with_nothing_replayed() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (_poster, _) = poster_with(addr, "ahead", 3);
    let (_ws, hello, texts) = resume(addr, "room=ahead&since=100");
    assert_eq!((hello.last, hello.recovered), (3, Some(true)));
    assert!(texts.is_empty(), "{texts:?}");
    let (_ws, hello, _) = resume(addr, "room=ahead&since=9223372036854775807");
    assert_eq!(hello.recovered, Some(true));
}

pub fn since_older_than_the_window_is_not_recovered_but_what_is_retained_is_sent() {
    let server = Server::start(&["--rate", "0", "--history", "5"]);
    let addr = server.addr();
    let (_poster, _) = poster_with(addr, "old", 8);
    for since in [0, 1, 2] {
        let (_ws, hello, texts) = resume(addr, &format!("room=old&since={since}"));
        assert_eq!((hello.last, hello.recovered), (8, Some(false)), "since={since}");
        assert_eq!(ids(&texts), vec![4, 5, 6, 7, 8], "since={since}");
    }
    // Everything after 3 is still retained: recovered.
    let (_ws, hello, texts) = resume(addr, "room=old&since=3");
    assert_eq!((hello.last, hello.recovered), (8, Some(true)));
    assert_eq!(ids(&texts), vec![4, 5, 6, 7, 8]);
    let (_ws, hello, texts) = resume(addr, "room=old&since=6");
    assert_eq!(hello.recovered, Some(true));
    assert_eq!(ids(&texts), vec![7, 8]);
}

pub fn since_beyond_the_ttl_is_not_recovered() {
    let server = Server::start(&["--rate", "0", "--history-ttl", "1"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "ttl", 3);
    thread::sleep(Duration::from_millis(1600));
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=1");
    // The poster kept the room: same epoch, same last, but nothing retained.
    assert_eq!((hello.last, hello.recovered, hello.epoch.as_str()), (3, Some(false), first.epoch.as_str()));
    assert!(texts.is_empty(), "expired danmaku replayed: {texts:?}");
    assert_eq!(post_acked(&mut poster, "m4"), 4);
    assert_eq!(post_acked(&mut poster, "m5"), 5);
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=0");
    assert_eq!((hello.last, hello.recovered), (5, Some(false)));
    assert_eq!(ids(&texts), vec![4, 5], "what is retained is still sent");
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=3");
    assert_eq!(hello.recovered, Some(true), "nothing after 3 was lost");
    assert_eq!(ids(&texts), vec![4, 5]);
}

pub fn another_epoch_replays_nothing() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "epochs", 3);
    for epoch in ["other", "x-1", &format!("{}0", first.epoch)] {
        let (mut ws, hello, texts) = resume(addr, &format!("room=epochs&since=1&epoch={epoch}"));
        assert_eq!((hello.recovered, hello.epoch.as_str()), (Some(false), first.epoch.as_str()), "{epoch}");
        assert!(texts.is_empty(), "epoch {epoch}: replayed {texts:?}");
        let id = post_acked(&mut poster, &format!("after-{epoch}"));
        assert_eq!(ids(&texts_until_quiet(&mut ws, Duration::from_millis(300))), vec![id], "live still comes");
    }
    // Even since=0 with another epoch gets nothing.
    let (_ws, hello, texts) = resume(addr, "room=epochs&since=0&epoch=gone");
    assert_eq!(hello.recovered, Some(false));
    assert!(texts.is_empty(), "{texts:?}");
}

pub fn malformed_since_or_epoch_gets_400() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for bad in [
        "since=-1",
        "since=",
        "since=1.5",
        "since=+1",
        "since=%201",
        "since=1e3",
        "since=0x10",
        "since=9223372036854775808",
        "since=18446744073709551616",
        "since=1&epoch=bad!",
        "since=1&epoch=",
        "since=1&epoch=a.b",
        "since=1&epoch=abcdefghijklmnopqrstuvwxyz0123456",
    ] {
        assert_eq!(upgrade_status(addr, &format!("/ws?room=bad&{bad}")), 400, "{bad}");
    }
    // The limits themselves are fine.
    for good in ["since=9223372036854775807", "since=0&epoch=abcdefghijklmnopqrstuvwxyz012345", "since=007"] {
        assert_eq!(upgrade_status(addr, &format!("/ws?room=good&{good}")), 101, "{good}");
    }
    assert!(server.log_problems().is_empty(), "{:?}", server.log_problems());
}
