//! Tests of the pure helpers around the cluster scripts (the scripts themselves run against
//! a real Redis in tests/redis_session.rs).

use super::*;

fn bulk(s: &str) -> Value {
    Value::Bulk(Some(s.as_bytes().to_vec()))
}

const POLICY: HistoryPolicy = HistoryPolicy { size: 1000, age_ms: 120_000, key_ttl_secs: 86_400 };

#[test]
fn key_names_share_the_room_hash_tag() {
    let k = RoomKeys::new("danmaku:", 0, "main");
    assert_eq!(k.meta, "danmaku:{main}:meta");
    assert_eq!(k.history, "danmaku:{main}:history");
    assert_eq!(k.channel, "danmaku:{main}:live:0");
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 0, b"danmaku:{a-b_1}:live:0"), Some("a-b_1"));
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 0, b"other:{a}:live:0"), None);
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 0, b"danmaku:{a}:meta"), None);
}

/// Pub/sub ignores `SELECT` (Redis documentation, "Pub/Sub", "Database & Scoping"), so the
/// database is in the channel names: nodes on database 1 never hear database 0's rooms or
/// admin bus, and the other way round.
#[test]
fn channels_name_the_database() {
    let (zero, one) = (RoomKeys::new("danmaku:", 0, "main"), RoomKeys::new("danmaku:", 1, "main"));
    assert_eq!(zero.meta, one.meta, "keys are per database already");
    assert_eq!(one.channel, "danmaku:{main}:live:1");
    assert_ne!(zero.channel, one.channel);
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 1, zero.channel.as_bytes()), None);
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 0, one.channel.as_bytes()), None);
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 12, b"danmaku:{main}:live:1"), None);
    assert_eq!(RoomKeys::room_of_channel("danmaku:", 1, b"danmaku:{main}:live:12"), None);
    assert_eq!(RoomKeys::admin_channel("danmaku:", 0), "danmaku:admin:0");
    assert_ne!(RoomKeys::admin_channel("danmaku:", 0), RoomKeys::admin_channel("danmaku:", 1));
}

#[test]
fn call_arguments() {
    let k = RoomKeys::new("p:", 0, "r");
    let call = publish(&k, &POLICY, "E1", ",\"msg\":\"hi\"}", 1700);
    let eval = call.eval();
    assert_eq!(eval[0], b"EVAL");
    assert_eq!(eval[1], PUBLISH.as_bytes());
    let rest: Vec<&[u8]> = eval[2..].iter().map(Vec::as_slice).collect();
    assert_eq!(
        rest,
        [
            &b"2"[..],
            b"p:{r}:meta",
            b"p:{r}:history",
            b"E1",
            b",\"msg\":\"hi\"}",
            b"1700",
            b"1000",
            b"120000",
            b"86400",
            b"p:{r}:live:0"
        ]
    );
    let sha = call.evalsha();
    assert_eq!(sha[0], b"EVALSHA");
    assert_eq!(sha[1], sha1_hex(PUBLISH).as_bytes());
    assert_eq!(sha[2..], eval[2..]);
    let ev = event(&k, &POLICY, "E1", "{\"type\":\"delete\",\"id\":7}", EventAction::Delete(7), 5);
    assert_eq!(ev.args[7..], [b"delete".to_vec(), b"7".to_vec()]);
    assert_eq!(event(&k, &POLICY, "E", "{}", EventAction::Clear, 5).args[7], b"clear");
    assert_eq!(read(&k, &POLICY, "E", Some(Position { id: 4, seq: 0 }), 9).args[1], b"4-1");
    assert_eq!(read(&k, &POLICY, "E", Some(Position { id: 4, seq: 2 }), 9).args[1], b"4-3");
    assert_eq!(read(&k, &POLICY, "E", None, 9).args[1], b"");
}

#[test]
fn sha1_of_a_known_script() {
    // `redis-cli SCRIPT LOAD "return 1"` answers e0e1f9fabfc9d4800c877a703b823ac0578ff8db.
    assert_eq!(sha1_hex("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

#[test]
fn danmaku_rest_strips_the_id() {
    let json = r##"{"type":"danmaku","id":0,"msg":"hi","color":"#ffffff","size":"medium","mode":"scroll","time":5}"##;
    assert_eq!(
        danmaku_rest(json),
        Some(r##","msg":"hi","color":"#ffffff","size":"medium","mode":"scroll","time":5}"##)
    );
    assert_eq!(danmaku_rest(r#"{"type":"danmaku","id":123,"x":1}"#), Some(r#","x":1}"#));
    assert_eq!(danmaku_rest(r#"{"type":"danmaku","id":,"x":1}"#), None);
    assert_eq!(danmaku_rest(r#"{"type":"error","id":1,"x":1}"#), None);
    assert_eq!(danmaku_rest(r#"{"type":"danmaku","id":1}"#), None);
}

#[test]
fn live_messages_and_positions() {
    assert_eq!(
        parse_live(b"Ab-_9|12-0|{\"a\":\"x|y\"}"),
        Some(LiveMessage {
            epoch: "Ab-_9".into(),
            pos: Position { id: 12, seq: 0 },
            json: b"{\"a\":\"x|y\"}".to_vec()
        })
    );
    for bad in [&b"E|12|{}"[..], b"E|-1|{}", b"E|1-|{}", b"E|a-0|{}", b"E|1-0", b"nothing", b"E|+1-0|{}"] {
        assert_eq!(parse_live(bad), None, "{bad:?}");
    }
    let p = |id, seq| Position { id, seq };
    assert!(p(3, 0).is_followed_by(p(4, 0)));
    assert!(p(3, 0).is_followed_by(p(3, 1)));
    assert!(p(3, 2).is_followed_by(p(4, 0)));
    assert!(!p(3, 0).is_followed_by(p(5, 0)));
    assert!(!p(3, 0).is_followed_by(p(3, 2)));
    assert!(!p(3, 1).is_followed_by(p(4, 1)));
    assert!(p(3, 5) < p(4, 0) && p(4, 0) < p(4, 1));
}

#[test]
fn replies() {
    let arr = |v: Vec<Value>| Value::Array(Some(v));
    assert_eq!(parse_published(&arr(vec![bulk("E"), Value::Integer(3)])), Ok(("E".into(), 3)));
    assert!(parse_published(&Value::Error(b"ERR boom".to_vec())).unwrap_err().contains("ERR boom"));
    assert!(parse_published(&arr(vec![bulk("E")])).is_err());
    assert!(parse_published(&arr(vec![bulk("E"), Value::Integer(-1)])).is_err());
    assert_eq!(
        parse_event_reply(&arr(vec![bulk("E"), Value::Integer(3), Value::Integer(2)])),
        Ok(("E".into(), Position { id: 3, seq: 2 }))
    );
    let reply = arr(vec![
        bulk("E"),
        Value::Integer(5),
        Value::Integer(1),
        Value::Integer(2),
        arr(vec![bulk("3-0"), bulk("{\"id\":3}"), bulk("5-1"), bulk("{\"type\":\"clear\"}")]),
    ]);
    assert_eq!(
        parse_history(&reply),
        Ok(History {
            epoch: "E".into(),
            top: Position { id: 5, seq: 1 },
            floor: 2,
            entries: vec![
                (Position { id: 3, seq: 0 }, b"{\"id\":3}".to_vec()),
                (Position { id: 5, seq: 1 }, b"{\"type\":\"clear\"}".to_vec())
            ],
        })
    );
    let odd = arr(vec![bulk("E"), Value::Integer(5), Value::Integer(1), Value::Integer(2), arr(vec![bulk("3-0")])]);
    assert!(parse_history(&odd).is_err());
}

#[test]
fn epoch_names_fit_the_contract() {
    for entropy in [0u128, 1, u128::MAX, 0x0123_4567_89ab_cdef_0011_2233] {
        let e = epoch_name(entropy);
        assert_eq!(e.len(), 16);
        assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{e}");
    }
    assert_ne!(epoch_name(1), epoch_name(2));
}
