use std::time::Duration;

use super::route::WallRoute;
use super::*;
use crate::wall::blocklist::Blocklist;
use crate::wall::history::HistoryLimits;
use crate::wall::room::Rooms;

fn app(max_backlog: usize) -> App {
    let limits = HistoryLimits { max_len: 100, ttl: Duration::from_secs(120) };
    let config = crate::config::Config { echo: true, max_backlog, ..Default::default() };
    App::new(Wall::new(Rooms::new(10, limits, 0), 0, Blocklist::default()), &config)
}

fn wall_route(since: Option<u64>, epoch: Option<&str>) -> Route {
    Route::Wall(WallRoute {
        room: "main".into(),
        client: [127, 0, 0, 1].into(),
        since,
        epoch: epoch.map(str::to_string),
    })
}

fn text(message: &str) -> Message {
    Message { opcode: Opcode::Text, data: message.as_bytes().to_vec() }
}

/// The JSON texts of the frames sent to `to` (short frames: 2-byte header).
fn sent_to(actions: &[Action], to: usize) -> Vec<String> {
    let payload = |f: &[u8]| String::from_utf8_lossy(&f[2..]).into_owned();
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send { to: t, frame: Frame::Owned(f) } if *t == to => Some(payload(f)),
            Action::Send { to: t, frame: Frame::Shared(f) } if *t == to => Some(payload(f)),
            _ => None,
        })
        .collect()
}

fn post(app: &mut App, token: usize, session: &mut Session, msg: &str) -> Vec<Action> {
    let mut actions = Vec::new();
    let time = Time { now: Instant::now(), unix_ms: 1 };
    app.message(token, session, &text(msg), time, &mut actions);
    actions
}

#[test]
fn hello_comes_first_then_the_replay() {
    let mut app = app(1 << 20);
    let now = Instant::now();
    let mut actions = Vec::new();
    let mut poster = app.open(1, wall_route(None, None), now, &mut actions);
    let hello = sent_to(&actions, 1);
    assert_eq!(hello.len(), 1);
    assert!(hello[0].starts_with(r#"{"type":"hello","room":"main","epoch":"0-1","last":0}"#), "{hello:?}");
    for n in 1..=3 {
        post(&mut app, 1, &mut poster, &format!(r#"{{"msg":"m{n}"}}"#));
    }
    let mut actions = Vec::new();
    app.open(2, wall_route(Some(1), Some("0-1")), now, &mut actions);
    let sent = sent_to(&actions, 2);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert!(sent[0].contains(r#""last":3,"recovered":true"#), "{}", sent[0]);
    assert!(sent[1].contains(r#""id":2,"#) && sent[2].contains(r#""id":3,"#));
    let mut actions = Vec::new();
    app.open(3, wall_route(Some(1), Some("old-epoch")), now, &mut actions);
    let sent = sent_to(&actions, 3);
    assert_eq!(sent.len(), 1);
    assert!(sent[0].ends_with(r#""recovered":false}"#), "{}", sent[0]);
}

#[test]
fn a_replay_never_passes_the_backlog_cap() {
    let mut app = app(256 + 250);
    let now = Instant::now();
    let mut actions = Vec::new();
    let mut poster = app.open(1, wall_route(None, None), now, &mut actions);
    for _ in 0..10 {
        post(&mut app, 1, &mut poster, r#"{"msg":"0123456789"}"#);
    }
    let mut actions = Vec::new();
    app.open(2, wall_route(Some(0), None), now, &mut actions);
    let sent = sent_to(&actions, 2);
    assert!(sent[0].ends_with(r#""recovered":false}"#), "{}", sent[0]);
    let replayed: usize = sent[1..].iter().map(|s| s.len() + 2).sum();
    assert!(replayed <= 250 && sent.len() > 2, "{replayed} bytes in {} frames", sent.len() - 1);
    assert!(sent.last().unwrap().contains(r#""id":10,"#), "the newest ones are kept");
}

#[test]
fn posts_broadcast_and_ack_the_sender_only() {
    let mut app = app(1 << 20);
    let now = Instant::now();
    let mut actions = Vec::new();
    let mut a = app.open(1, wall_route(None, None), now, &mut actions);
    app.open(2, wall_route(None, None), now, &mut actions);
    let actions = post(&mut app, 1, &mut a, r#"{"msg":"hi","ref":"x1"}"#);
    assert!(matches!(actions[0], Action::Broadcast { .. }));
    assert_eq!(sent_to(&actions, 1), vec![r#"{"type":"ack","ref":"x1","id":1}"#]);
    assert!(sent_to(&actions, 2).is_empty());
    assert_eq!(app.members(app.wall.rooms.find("main").unwrap()), &[1, 2]);
    let actions = post(&mut app, 1, &mut a, r#"{"msg":""}"#);
    assert_eq!(sent_to(&actions, 1), vec![r#"{"type":"error","error":"msg is empty"}"#]);
}

#[test]
fn binary_on_a_wall_closes_with_1003_and_echo_echoes() {
    let mut app = app(1 << 20);
    let now = Instant::now();
    let mut actions = Vec::new();
    let mut wall = app.open(1, wall_route(None, None), now, &mut actions);
    let mut actions = Vec::new();
    let binary = Message { opcode: Opcode::Binary, data: vec![1, 2] };
    app.message(1, &mut wall, &binary, Time { now, unix_ms: 0 }, &mut actions);
    assert!(matches!(actions[..], [Action::Close { to: 1, code: CloseCode::UNSUPPORTED_DATA, .. }]));
    let mut echo = app.open(2, Route::Echo, now, &mut actions);
    let mut actions = Vec::new();
    app.message(2, &mut echo, &binary, Time { now, unix_ms: 0 }, &mut actions);
    assert_eq!(actions, vec![Action::Send { to: 2, frame: Frame::Owned(vec![0x82, 2, 1, 2]) }]);
    app.close(1, &wall);
    assert!(app.wall.rooms.is_empty(), "the last member left a room without history");
}
