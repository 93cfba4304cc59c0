use super::*;

const LIMITS: HistoryLimits = HistoryLimits { max_len: 3, ttl: Duration::from_secs(120) };

fn frame(s: &str) -> Rc<[u8]> {
    s.as_bytes().into()
}

fn texts(replay: &Replay) -> Vec<String> {
    replay.frames.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect()
}

fn filled(n: u64, now: Instant) -> History {
    let mut h = History::new();
    for id in 1..=n {
        h.push_danmaku(id, frame(&format!("d{id}")), now, LIMITS);
    }
    h
}

#[test]
fn replays_what_came_after_since_in_order() {
    let now = Instant::now();
    let h = filled(3, now);
    let r = h.replay(1, usize::MAX);
    assert_eq!((texts(&r), r.recovered), (vec!["d2".to_string(), "d3".to_string()], true));
    let r = h.replay(0, usize::MAX);
    assert_eq!((texts(&r).len(), r.recovered), (3, true));
}

#[test]
fn since_at_or_beyond_last_is_always_recovered() {
    let now = Instant::now();
    let mut h = filled(5, now); // 1 and 2 pruned by the cap of 3
    assert!(h.replay(5, usize::MAX).recovered);
    assert!(h.replay(9, usize::MAX).recovered);
    // Even once everything has expired (the idle, up-to-date wall of socket.io's bug).
    h.expire(now + Duration::from_secs(121), LIMITS);
    assert!(h.is_empty());
    let r = h.replay(5, usize::MAX);
    assert!(r.recovered && r.frames.is_empty());
}

#[test]
fn pruned_by_count_or_age_is_not_recovered() {
    let now = Instant::now();
    let h = filled(5, now);
    let r = h.replay(1, usize::MAX);
    assert_eq!((texts(&r), r.recovered), (vec!["d3".into(), "d4".into(), "d5".into()], false));
    let r = h.replay(2, usize::MAX);
    assert!(r.recovered, "nothing above 2 was pruned");
    let mut h = filled(2, now);
    h.push_danmaku(3, frame("d3"), now + Duration::from_secs(100), LIMITS);
    h.expire(now + Duration::from_secs(130), LIMITS);
    let r = h.replay(0, usize::MAX);
    assert_eq!((texts(&r), r.recovered), (vec!["d3".into()], false));
}

#[test]
fn history_zero_keeps_nothing_but_still_knows_last() {
    let now = Instant::now();
    let zero = HistoryLimits { max_len: 0, ..LIMITS };
    let mut h = History::new();
    h.push_danmaku(1, frame("d1"), now, zero);
    h.push_event(frame("clear"), now, zero);
    assert!(h.is_empty());
    assert_eq!(h.last(), 1);
    assert!(!h.replay(0, usize::MAX).recovered);
    assert!(h.replay(1, usize::MAX).recovered);
}

#[test]
fn deleted_and_cleared_danmaku_are_never_replayed_but_their_events_are() {
    let now = Instant::now();
    let mut h = filled(3, now);
    assert!(h.remove(2));
    assert!(!h.remove(2), "a second delete finds nothing");
    h.push_event(frame("del2"), now, LIMITS);
    let r = h.replay(1, usize::MAX);
    assert_eq!((texts(&r), r.recovered), (vec!["d3".into(), "del2".into()], true));
    // An event after the latest danmaku reaches a wall that had seen that danmaku.
    assert_eq!(texts(&h.replay(3, usize::MAX)), vec!["del2"], "a wall up to date when the delete came gets it");
    h.remove_all_danmaku();
    h.push_event(frame("clear"), now, LIMITS);
    h.push_danmaku(4, frame("d4"), now, LIMITS);
    let r = h.replay(0, usize::MAX);
    assert_eq!((texts(&r), r.recovered), (vec!["del2".into(), "clear".into(), "d4".into()], true));
}

#[test]
fn events_are_capped_too() {
    let now = Instant::now();
    let mut h = filled(1, now);
    for i in 0..10 {
        h.push_event(frame(&format!("e{i}")), now, LIMITS);
    }
    assert_eq!(texts(&h.replay(0, usize::MAX)), vec!["d1", "e7", "e8", "e9"]);
    assert!(h.replay(0, usize::MAX).recovered, "a wall that saw nothing missed no event");
    h.push_danmaku(2, frame("d2"), now, LIMITS);
    // e0..e6 happened while danmaku 1 was the latest and are gone; `recovered` counts danmaku
    // only (the contract: "every danmaku after ID up to last was still retained"), and 2 is.
    assert_eq!(texts(&h.replay(1, usize::MAX)), vec!["e7", "e8", "e9", "d2"]);
    assert!(h.replay(1, usize::MAX).recovered);
    assert!(h.replay(2, usize::MAX).recovered, "since == last is always a success");
}

#[test]
fn a_replay_over_budget_sends_the_newest_that_fit() {
    let now = Instant::now();
    let h = filled(3, now);
    let r = h.replay(0, 5); // each frame is 2 bytes: two fit
    assert_eq!((texts(&r), r.recovered), (vec!["d2".into(), "d3".into()], false));
    let r = h.replay(0, 6);
    assert_eq!((texts(&r).len(), r.recovered), (3, true));
    let r = h.replay(0, 0);
    assert!(r.frames.is_empty() && !r.recovered);
}
