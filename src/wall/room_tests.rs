use std::time::Duration;

use super::*;

const LIMITS: HistoryLimits = HistoryLimits { max_len: 10, ttl: Duration::from_secs(120) };

fn frame(id: u64) -> Rc<[u8]> {
    format!("d{id}").as_bytes().into()
}

#[test]
fn room_names() {
    for ok in ["main", "a", "A-b_9", &"x".repeat(32)] {
        assert!(valid_room_name(ok), "{ok}");
    }
    for bad in ["", &"x".repeat(33), "a b", "a/b", "ü", "a%20", "..", "a.b"] {
        assert!(!valid_room_name(bad), "{bad}");
    }
}

#[test]
fn leaving_moves_the_last_member_and_keeps_seats_right() {
    let mut rooms = Rooms::new(10, LIMITS, 0);
    let main = rooms.join("main", 10).unwrap();
    rooms.join("main", 11).unwrap();
    rooms.join("main", 12).unwrap();
    let other = rooms.join("other", 20).unwrap();
    assert_ne!(main, other);
    assert_eq!(rooms.get(main).unwrap().members(), &[10, 11, 12]);
    rooms.leave(10); // 12 moves into slot 0
    assert_eq!(rooms.get(main).unwrap().members(), &[12, 11]);
    rooms.leave(12); // found by token in its new slot
    assert_eq!(rooms.get(main).unwrap().members(), &[11]);
    rooms.leave(12);
    rooms.leave(99);
    assert_eq!(rooms.get(main).unwrap().members(), &[11], "leaving twice or unknown tokens change nothing");
    rooms.leave(11);
    assert_eq!(rooms.len(), 1, "an empty room without history is forgotten");
    assert_eq!(rooms.room_of(20), Some(other));
}

#[test]
fn a_room_with_history_outlives_its_members_and_keeps_epoch_and_ids() {
    let now = Instant::now();
    let mut rooms = Rooms::new(10, LIMITS, 1_700_000_000_000);
    let id = rooms.join("main", 1).unwrap();
    let epoch = rooms.get(id).unwrap().epoch.clone();
    assert_eq!(rooms.append(id, frame, now).map(|a| a.0), Some(1));
    assert_eq!(rooms.append(id, frame, now).map(|a| a.0), Some(2));
    rooms.leave(1);
    let again = rooms.join("main", 2).unwrap();
    assert_eq!(rooms.get(again).unwrap().epoch, epoch);
    assert_eq!(rooms.append(again, frame, now).map(|a| a.0), Some(3));
    // Once the history expires with nobody in the room, it is forgotten: new epoch, ids from 1.
    rooms.leave(2);
    rooms.expire(now + Duration::from_secs(121));
    assert!(rooms.find("main").is_none());
    let fresh = rooms.join("main", 3).unwrap();
    let new_epoch = rooms.get(fresh).unwrap().epoch.clone();
    assert_ne!(new_epoch, epoch);
    assert!(valid_room_name(&new_epoch), "{new_epoch}");
    assert_eq!(rooms.append(fresh, frame, now).map(|a| a.0), Some(1));
}

#[test]
fn a_restart_gives_new_epochs() {
    let mut a = Rooms::new(10, LIMITS, 1_700_000_000_000);
    let mut b = Rooms::new(10, LIMITS, 1_700_000_000_001);
    let (ia, ib) = (a.join("main", 1).unwrap(), b.join("main", 1).unwrap());
    assert_ne!(a.get(ia).unwrap().epoch, b.get(ib).unwrap().epoch);
}

#[test]
fn the_rooms_limit_refuses_new_rooms_only() {
    let mut rooms = Rooms::new(2, LIMITS, 0);
    rooms.join("a", 1).unwrap();
    rooms.join("b", 2).unwrap();
    assert_eq!(rooms.join("c", 3), Err(TooManyRooms(2)));
    assert!(rooms.join("a", 4).is_ok(), "an existing room still takes members");
    rooms.leave(2);
    assert!(rooms.join("c", 3).is_ok(), "a forgotten room frees its place");
}

#[test]
fn resume_under_another_epoch_replays_nothing() {
    let now = Instant::now();
    let mut rooms = Rooms::new(10, LIMITS, 0);
    let id = rooms.join("main", 1).unwrap();
    rooms.append(id, frame, now);
    let epoch = rooms.get(id).unwrap().epoch.to_string();
    let r = rooms.replay(id, 0, Some("other-epoch"), usize::MAX);
    assert!(r.frames.is_empty() && !r.recovered);
    let r = rooms.replay(id, 0, Some(&epoch), usize::MAX);
    assert_eq!((r.frames.len(), r.recovered), (1, true));
    let r = rooms.replay(id, 0, None, usize::MAX);
    assert_eq!((r.frames.len(), r.recovered), (1, true));
}

#[test]
fn base36_digits() {
    assert_eq!(base36(0), "0");
    assert_eq!(base36(35), "z");
    assert_eq!(base36(36), "10");
    assert!(base36(u64::MAX).len() <= 13);
}
