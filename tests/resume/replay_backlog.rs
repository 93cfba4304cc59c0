//! Replays under `--max-backlog`: a flood of full resumes never passes the backlog limit.

use std::thread;
use std::time::Duration;

use crate::common::{self, Server, Ws};
use crate::support::{ids, texts_until_quiet};

pub fn a_flood_of_full_resumes_never_passes_max_backlog() {
    const BACKLOG: usize = 16_384;
    let server = Server::start(&["--rate", "0", "--max-backlog", &BACKLOG.to_string(), "--ping-interval", "0"]);
    let addr = server.addr();
    let (mut poster, _) = Ws::join(addr, "flood");
    let msg = "x".repeat(90);
    let mut frame_len = 0;
    for n in 1..=400u64 {
        poster.post(&format!("{n:04}{msg}"), None);
        frame_len = poster.recv().payload.len(); // read as we go: the poster must not fall behind
    }
    assert!(400 * frame_len > 4 * BACKLOG, "the history ({}) must not fit", 400 * frame_len);
    let walls: Vec<_> = (0..40)
        .map(|_| {
            thread::spawn(move || {
                let mut ws = Ws::connect(addr, "/ws?room=flood&since=0");
                let hello = ws.hello.clone().expect("hello");
                let texts = texts_until_quiet(&mut ws, Duration::from_millis(500));
                (ws, hello, texts)
            })
        })
        .collect();
    let mut walls: Vec<_> = walls.into_iter().map(|t| t.join().expect("wall thread")).collect();
    for (_, hello, texts) in &walls {
        assert_eq!((hello.last, hello.recovered), (400, Some(false)), "{hello:?}");
        let bytes: usize = texts.iter().map(|t| t.len() + 4).sum();
        assert!(bytes <= BACKLOG, "a replay of {bytes} bytes passed --max-backlog {BACKLOG}");
        let got = ids(texts);
        assert!(got.len() * 2 > BACKLOG / frame_len, "too little replayed: {}", got.len());
        let first = got[0];
        assert_eq!(got, (first..=400).collect::<Vec<_>>(), "the newest that fit, in order");
    }
    // Every wall is still open and gets the next danmaku; the server is healthy.
    poster.post("after", None);
    for (ws, _, _) in &mut walls {
        assert_eq!(ids(&[ws.recv_text()]), vec![401]);
    }
    let health = common::get(addr, "/healthz");
    assert_eq!((health.status, health.body_str().as_str()), (200, "ok"));
    assert!(!server.log_contains("1008"), "a wall was closed: {:?}", server.logs());
}
