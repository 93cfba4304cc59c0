//! Posts arriving during a resume: walls dropping and resuming without pause miss nothing
//! and see nothing twice.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{self, Recv, Server, TEXT, Ws};

/// A wall that keeps dropping and resuming with `since=last&epoch=E` while a poster posts
/// without pause: every id from 1 to `total`, each once, in order, across all its connections.
fn resuming_wall(addr: SocketAddr, room: String, total: u64, seed: u64) -> (Vec<u64>, usize) {
    let mut rng = common::Rng::new(seed);
    let mut seen = Vec::new();
    let mut epoch: Option<String> = None;
    let mut connections = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    while seen.last() != Some(&total) {
        assert!(Instant::now() < deadline, "wall {seed} stuck at {:?}", seen.last());
        let last = seen.last().copied().unwrap_or(0);
        let target = match &epoch {
            Some(e) => format!("/ws?room={room}&since={last}&epoch={e}"),
            None => format!("/ws?room={room}&since={last}"),
        };
        let mut ws = Ws::connect(addr, &target);
        connections += 1;
        let hello = ws.hello.clone().expect("hello");
        if let Some(e) = &epoch {
            assert_eq!(&hello.epoch, e, "the epoch changed under a wall");
        }
        assert_eq!(hello.recovered, Some(true), "wall {seed}: history is big enough: {hello:?}");
        epoch = Some(hello.epoch);
        let stay = Instant::now() + Duration::from_millis(rng.range(2, 40) as u64);
        while Instant::now() < stay && seen.last() != Some(&total) {
            match ws.recv_within(stay.saturating_duration_since(Instant::now())) {
                Recv::Frame(f) if f.opcode == TEXT => {
                    seen.push(common::danmaku_id(&f.payload).unwrap_or_else(|| panic!("{}", f.text())))
                }
                Recv::Frame(f) => panic!("wall {seed}: unexpected frame {f:?}"),
                Recv::Timeout => break,
                Recv::Eof => panic!("wall {seed}: EOF"),
            }
        }
        // Dropped mid-stream, maybe mid-frame: the next connection resumes from `seen`.
    }
    (seen, connections)
}

pub fn walls_resuming_while_posts_keep_coming_miss_nothing_and_see_nothing_twice() {
    const TOTAL: u64 = 1500;
    let server = Server::start(&["--rate", "0", "--history", "5000", "--ping-interval", "0"]);
    let addr = server.addr();
    let room = "busy".to_string();
    let walls: Vec<_> = (0..3)
        .map(|seed| {
            let room = room.clone();
            thread::spawn(move || resuming_wall(addr, room, TOTAL, seed))
        })
        .collect();
    let (mut poster, _) = Ws::join(addr, &room);
    // The poster never reads (its own broadcasts stay under --max-backlog: ~150 KiB).
    for n in 1..=TOTAL {
        poster.post(&format!("p{n}"), None);
        if n % 4 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    for (i, wall) in walls.into_iter().enumerate() {
        let (seen, connections) = wall.join().expect("wall thread");
        eprintln!("wall {i}: {connections} connections");
        assert!(connections > 5, "wall {i} resumed only {connections} times: the test proves little");
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "wall {i}: a danmaku twice");
        assert_eq!(seen, (1..=TOTAL).collect::<Vec<_>>(), "wall {i}: a gap or reordering");
    }
    assert!(server.log_problems().is_empty(), "{:?}", server.log_problems());
}
