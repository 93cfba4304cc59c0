use std::time::Duration;

use super::history::HistoryLimits;
use super::*;

const LIMITS: HistoryLimits = HistoryLimits { max_len: 100, ttl: Duration::from_secs(120) };

fn wall(rate: u32, blocklist: &str) -> Wall {
    Wall::new(Rooms::new(100, LIMITS, 0), rate, Blocklist::parse(blocklist))
}

fn payload(frame: &[u8]) -> String {
    // A short server frame: 2-byte header, then the text.
    String::from_utf8_lossy(&frame[2..]).into_owned()
}

const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Runs a post through the pipeline as connection 1.
fn post(wall: &mut Wall, member: &mut Member, text: &str, now: Instant) -> Checked {
    wall.check(1, member, text, now)
}

/// A post that must pass: numbered, with (room, id, JSON, ref).
fn accept(
    wall: &mut Wall,
    member: &mut Member,
    text: &str,
    now: Instant,
    unix_ms: u64,
) -> (RoomId, u64, String, Option<String>) {
    match post(wall, member, text, now) {
        Checked::Accept(post) => {
            let s = wall.sequence(&post, now, unix_ms).expect("numbered");
            (s.room, s.id, payload(&s.frame), post.reference)
        }
        other => panic!("not accepted: {other:?}"),
    }
}

fn rejected(checked: Checked) -> String {
    match checked {
        Checked::Reject { json } => json,
        other => panic!("not rejected: {other:?}"),
    }
}

#[test]
fn a_post_reaches_its_room_only() {
    let now = Instant::now();
    let mut wall = wall(5, "");
    let mut a = wall.join("main", 1, HERE, now).unwrap();
    wall.join("main", 2, HERE, now).unwrap();
    wall.join("other", 3, HERE, now).unwrap();
    let (room, id, json, ack) = accept(&mut wall, &mut a, r#"{"msg":"hi"}"#, now, 7);
    assert_eq!(wall.rooms.get(room).unwrap().members(), &[1, 2]);
    assert_eq!((id, ack), (1, None));
    assert!(json.starts_with(r#"{"type":"danmaku","id":1,"msg":"hi""#) && json.ends_with(r#""time":7}"#), "{json}");
}

#[test]
fn rejections_go_to_the_sender_and_cost_nothing() {
    let now = Instant::now();
    let mut wall = wall(1, "spam");
    let mut a = wall.join("main", 1, HERE, now).unwrap();
    for _ in 0..5 {
        rejected(post(&mut wall, &mut a, "{}", now));
        let json = rejected(post(&mut wall, &mut a, r#"{"msg":"SPAM!","ref":"r1"}"#, now));
        assert!(json.contains("blocked word") && json.contains(r#""ref":"r1""#), "{json}");
    }
    // Capacity 2: two posts pass, the third crosses the rate.
    accept(&mut wall, &mut a, r#"{"msg":"1"}"#, now, 0);
    accept(&mut wall, &mut a, r#"{"msg":"2"}"#, now, 0);
    let json = rejected(post(&mut wall, &mut a, r#"{"msg":"3"}"#, now));
    assert!(json.contains("too many"), "{json}");
}

#[test]
fn ids_count_up_per_room_and_refs_come_back() {
    let now = Instant::now();
    let mut wall = wall(0, "");
    let mut a = wall.join("a", 1, HERE, now).unwrap();
    let mut b = wall.join("b", 2, HERE, now).unwrap();
    for expected in 1..=3 {
        let (_, id, json, _) = accept(&mut wall, &mut a, r#"{"msg":"x"}"#, now, 5);
        assert_eq!(id, expected);
        assert!(json.contains(&format!("\"id\":{expected},")), "{json}");
    }
    let (_, id, json, ack) = accept(&mut wall, &mut b, r#"{"msg":"x","ref":"mine"}"#, now, 5);
    assert_eq!((id, ack.as_deref()), (1, Some("mine")));
    assert!(!json.contains("mine"), "the broadcast never carries ref: {json}");
}

#[test]
fn the_broadcast_frame_is_the_history_entry() {
    let now = Instant::now();
    let mut wall = wall(0, "");
    let mut a = wall.join("a", 1, HERE, now).unwrap();
    let Checked::Accept(accepted) = post(&mut wall, &mut a, r#"{"msg":"x"}"#, now) else { panic!() };
    let Sequenced { frame, room, .. } = wall.sequence(&accepted, now, 5).unwrap();
    let replay = wall.rooms.replay(room, 0, None, usize::MAX);
    assert!(Rc::ptr_eq(&replay.frames[0], &frame), "shared, not a second copy");
}

/// Capacity 2 tokens: the posts refused here must leave both for the two that pass after.
fn two_still_pass(wall: &mut Wall, a: &mut Member, now: Instant) {
    for msg in ["ok1", "ok2"] {
        match post(wall, a, &format!(r#"{{"msg":"{msg}"}}"#), now) {
            Checked::Accept(_) | Checked::Hold(_) => {}
            other => panic!("{msg} refused: {other:?}"),
        }
    }
}

#[test]
fn a_full_review_queue_refuses_before_the_rate_or_slow_mode_is_spent() {
    let now = Instant::now();
    let mut wall = wall(1, "");
    wall.held = HoldQueue::new(2, 10, "");
    let mut a = wall.join("main", 1, HERE, now).unwrap();
    let room = a.room;
    wall.rooms.get_mut(room).unwrap().rules.hold = true;
    two_still_pass(&mut wall, &mut a, now); // both held: the queue is full
    let later = now + Duration::from_secs(2); // the bucket is full again
    wall.rooms.get_mut(room).unwrap().rules.slow = 60;
    for _ in 0..5 {
        let json = rejected(post(&mut wall, &mut a, r#"{"msg":"more"}"#, later));
        assert!(json.contains("waiting for review"), "{json}");
    }
    let key = wall.held.iter().next().unwrap().key.clone();
    wall.held.reject("main", &key).unwrap();
    match post(&mut wall, &mut a, r#"{"msg":"now"}"#, later) {
        Checked::Hold(_) => {}
        other => panic!("the refusals spent the token or the slow-mode slot: {other:?}"),
    }
}

#[test]
fn while_unavailable_posts_are_refused_for_free() {
    let now = Instant::now();
    let mut wall = wall(1, "");
    let mut a = wall.join("main", 1, HERE, now).unwrap();
    wall.unavailable = Some("the wall is temporarily unavailable, please try again");
    for _ in 0..5 {
        let json = rejected(post(&mut wall, &mut a, r#"{"msg":"x","ref":"r"}"#, now));
        assert!(json.contains("temporarily unavailable") && json.contains(r#""ref":"r""#), "{json}");
    }
    wall.unavailable = None;
    two_still_pass(&mut wall, &mut a, now);
}
