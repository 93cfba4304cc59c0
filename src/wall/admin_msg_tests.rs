use super::*;

fn ok(text: &str) -> AdminRequest {
    parse_request(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    match parse_request(text) {
        Ok(r) => panic!("{text}: accepted as {r:?}"),
        Err(e) => e,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_request_type_parses() {
    let main = || "main".to_string();
    for (text, expected) in [
        (r#"{"type":"auth","token":"0123456789abcdef"}"#, AdminRequest::Auth { token: "0123456789abcdef".into() }),
        (r#"{"type":"delete","room":"main","id":17}"#, AdminRequest::Delete { room: main(), id: 17 }),
        (r#"{"type":"clear","room":"main"}"#, AdminRequest::Clear { room: main() }),
        (
            r#"{"type":"ban","address":"203.0.113.9","seconds":600}"#,
            AdminRequest::Ban { address: ip("203.0.113.9"), seconds: 600 },
        ),
        (
            r#"{"type":"ban","address":"::ffff:10.1.2.3","seconds":0}"#,
            AdminRequest::Ban { address: ip("10.1.2.3"), seconds: 0 },
        ),
        (
            r#"{"type":"ban","address":"2001:db8::7","seconds":1}"#,
            AdminRequest::Ban { address: ip("2001:db8::7"), seconds: 1 },
        ),
        (r#"{"type":"hold","room":"main","on":true}"#, AdminRequest::Hold { room: main(), on: true }),
        (r#"{"type":"approve","room":"main","key":"p3"}"#, AdminRequest::Approve { room: main(), key: "p3".into() }),
        (r#"{"type":"reject","room":"main","key":"p4"}"#, AdminRequest::Reject { room: main(), key: "p4".into() }),
        (r#"{"type":"slow","room":"main","seconds":30}"#, AdminRequest::Slow { room: main(), seconds: 30 }),
        (r#"{"type":"lock","room":"A-b_9","on":false}"#, AdminRequest::Lock { room: "A-b_9".into(), on: false }),
        (
            r#"{"type":"blocklist","add":["spam","Bad Word"],"remove":[]}"#,
            AdminRequest::Blocklist { add: vec!["spam".into(), "Bad Word".into()], remove: vec![] },
        ),
        (r#"{"type":"blocklist","remove":["x"]}"#, AdminRequest::Blocklist { add: vec![], remove: vec!["x".into()] }),
        (r#"{"room":"main","extra":[1,{"a":null}],"type":"clear"}"#, AdminRequest::Clear { room: main() }),
    ] {
        let request = ok(text);
        assert_eq!(request, expected, "{text}");
        assert!(text.contains(&format!("\"type\":\"{}\"", request.type_name())), "{text}");
    }
}

#[test]
fn malformed_requests_say_why() {
    for (text, reason) in [
        ("", "invalid JSON"),
        ("{\"type\":\"clear\",}", "invalid JSON"),
        ("[]", "JSON object"),
        ("\"auth\"", "JSON object"),
        ("{}", "type is required"),
        (r#"{"type":1}"#, "type must be a string"),
        (r#"{"type":"shutdown"}"#, "unknown request type \"shutdown\""),
        (r#"{"type":"auth"}"#, "token is required"),
        (r#"{"type":"auth","token":null}"#, "token must be a string"),
        (r#"{"type":"clear"}"#, "room is required"),
        (r#"{"type":"clear","room":7}"#, "room must be a string"),
        (r#"{"type":"clear","room":""}"#, "room must be 1 to 32"),
        (r#"{"type":"clear","room":"a/b"}"#, "room must be 1 to 32"),
        (r#"{"type":"clear","room":"弹幕"}"#, "room must be 1 to 32"),
        (&format!(r#"{{"type":"clear","room":"{}"}}"#, "x".repeat(33)), "room must be 1 to 32"),
        (r#"{"type":"delete","room":"main"}"#, "id is required"),
        (r#"{"type":"delete","room":"main","id":"1"}"#, "id must be a number"),
        (r#"{"type":"delete","room":"main","id":1.5}"#, "whole number"),
        (r#"{"type":"delete","room":"main","id":-1}"#, "whole number"),
        (r#"{"type":"delete","room":"main","id":1e300}"#, "whole number"),
        (r#"{"type":"ban","address":"example.org","seconds":60}"#, "address must be an IP address"),
        (r#"{"type":"ban","address":"10.0.0.0/8","seconds":60}"#, "address must be an IP address"),
        (r#"{"type":"ban","address":"10.0.0.1:80","seconds":60}"#, "address must be an IP address"),
        (r#"{"type":"ban","address":5,"seconds":60}"#, "address must be a string"),
        (r#"{"type":"ban","address":"10.0.0.1"}"#, "seconds is required"),
        (r#"{"type":"ban","address":"10.0.0.1","seconds":31536001}"#, "from 0 to 31536000"),
        (r#"{"type":"hold","room":"main","on":"yes"}"#, "on must be true or false"),
        (r#"{"type":"lock","room":"main"}"#, "on is required"),
        (r#"{"type":"slow","room":"main","seconds":86401}"#, "from 0 to 86400"),
        (r#"{"type":"approve","room":"main"}"#, "key is required"),
        (r#"{"type":"approve","room":"main","key":""}"#, "key must be 1 to 64"),
        (&format!(r#"{{"type":"reject","room":"main","key":"{}"}}"#, "k".repeat(65)), "key must be 1 to 64"),
        (r#"{"type":"blocklist","add":"spam"}"#, "add must be an array of strings"),
        (r#"{"type":"blocklist","remove":[1]}"#, "remove must be an array of strings"),
    ] {
        let e = err(text);
        assert!(e.contains(reason), "{text}: {e}");
    }
    let deep = format!(r#"{{"type":"clear","room":"main","x":{}{}}}"#, "[".repeat(8), "]".repeat(8));
    assert!(err(&deep).contains("nested too deeply"));
    ok(&format!(r#"{{"type":"clear","room":"main","x":{}{}}}"#, "[".repeat(7), "]".repeat(7)));
}

#[test]
fn limits_are_inclusive() {
    ok(&format!(r#"{{"type":"clear","room":"{}"}}"#, "x".repeat(32)));
    ok(&format!(r#"{{"type":"reject","room":"main","key":"{}"}}"#, "k".repeat(64)));
    assert_eq!(
        ok(r#"{"type":"delete","room":"m","id":9007199254740992}"#),
        AdminRequest::Delete { room: "m".into(), id: MAX_ID }
    );
    assert!(err(r#"{"type":"delete","room":"m","id":9007199254740994}"#).contains("whole number"));
    ok(r#"{"type":"ban","address":"10.0.0.1","seconds":31536000}"#);
    ok(r#"{"type":"slow","room":"main","seconds":86400}"#);
    let list = |n: usize| format!(r#"{{"type":"blocklist","add":[{}]}}"#, vec!["\"w\""; n].join(","));
    ok(&list(MAX_BLOCKLIST_EDIT));
    assert!(err(&list(MAX_BLOCKLIST_EDIT + 1)).contains("at most 1000"));
}

#[test]
fn a_bad_token_is_never_quoted() {
    let e = err(r#"{"type":"auth","token":"secret-secret-secret","x":}"#);
    assert!(!e.contains("secret"), "{e}");
}

const POST: PostView<'static> = PostView { msg: "hi <b>\"x\"</b>", color: "#ff0000", size: "large", mode: "top" };

fn rules(hold: bool, lock: bool, slow: u32) -> RoomRules {
    RoomRules { hold, lock, slow }
}

#[test]
fn admin_frames_golden() {
    let rooms = [
        RoomState { room: "main", members: 3, last: 42, rules: rules(false, false, 0) },
        RoomState { room: "b", members: 0, last: 0, rules: rules(true, true, 30) },
    ];
    assert_eq!(
        state_json(&rooms, ["spam", "bad \"word\""], &[(ip("::ffff:10.0.0.1"), 1_700_000_600_000), (ip("::1"), 5)]),
        concat!(
            r#"{"type":"state","rooms":[{"room":"main","members":3,"last":42,"hold":false,"lock":false,"slow":0},"#,
            r#"{"room":"b","members":0,"last":0,"hold":true,"lock":true,"slow":30}],"#,
            r#""blocklist":["spam","bad \"word\""],"bans":[{"address":"10.0.0.1","until":1700000600000},"#,
            r#"{"address":"::1","until":5}]}"#
        )
    );
    assert_eq!(state_json(&[], [], &[]), r#"{"type":"state","rooms":[],"blocklist":[],"bans":[]}"#);
    assert_eq!(
        room_json(&rooms[1]),
        r#"{"type":"room","room":"b","members":0,"last":0,"hold":true,"lock":true,"slow":30}"#
    );
    assert_eq!(
        post_json("main", 7, &POST, 1_700_000_000_123, ip("::ffff:192.0.2.1")),
        concat!(
            r#"{"type":"post","room":"main","id":7,"msg":"hi \u003cb\u003e\"x\"\u003c/b\u003e","#,
            r##""color":"#ff0000","size":"large","mode":"top","time":1700000000123,"from":"192.0.2.1"}"##
        )
    );
    assert_eq!(
        pending_json("main", "p9", &POST, ip("2001:db8::1")),
        concat!(
            r#"{"type":"pending","room":"main","key":"p9","msg":"hi \u003cb\u003e\"x\"\u003c/b\u003e","#,
            r##""color":"#ff0000","size":"large","mode":"top","from":"2001:db8::1"}"##
        )
    );
    assert_eq!(ok_json("hold"), r#"{"type":"ok","request":"hold"}"#);
    assert_eq!(
        error_json("unknown or \"already\"\ndecided"),
        r#"{"type":"error","error":"unknown or \"already\"\ndecided"}"#
    );
}

#[test]
fn wall_frames_golden() {
    assert_eq!(delete_json(12), r#"{"type":"delete","id":12}"#);
    assert_eq!(clear_json(), r#"{"type":"clear"}"#);
}

#[test]
fn every_frame_is_json_the_parser_reads_back() {
    let post = post_json("main", 1, &POST, 2, ip("10.0.0.1"));
    let v = json::parse(&post, 4).unwrap();
    assert_eq!(v.get("msg").and_then(Value::as_str), Some(POST.msg));
    let d = crate::wall::danmaku::parse_post(r##"{"msg":"x","color":"#ABCDEF","size":"small"}"##).unwrap().danmaku;
    let view = PostView::of(&d);
    assert_eq!((view.msg, view.color, view.size, view.mode), ("x", "#abcdef", "small", "scroll"));
    let rooms = [RoomState { room: "r", members: 1, last: 2, rules: rules(false, true, 5) }];
    for text in [
        state_json(&rooms, ["a\u{2028}"], &[(ip("10.0.0.1"), 3)]),
        room_json(&rooms[0]),
        pending_json("r", "k", &view, ip("::1")),
        error_json("\u{0}"),
    ] {
        assert!(json::parse(&text, 4).is_ok(), "{text}");
    }
}

#[test]
fn decided_golden_and_review_news_read_back() {
    assert_eq!(
        decided_json("main", "n1-p3", true),
        r#"{"type":"decided","room":"main","key":"n1-p3","approved":true}"#
    );
    let pending = pending_json("main", "p9", &POST, ip("10.0.0.1"));
    assert_eq!(review_news(&pending), Some(ReviewNews::Pending { room: "main".into(), key: "p9".into() }));
    let decided = decided_json("r", "k", false);
    assert_eq!(review_news(&decided), Some(ReviewNews::Decided { room: "r".into(), key: "k".into() }));
    // Everything else is no news: posts, malformed or incomplete entries, a bad room name.
    assert_eq!(review_news(&post_json("main", 1, &POST, 2, ip("10.0.0.1"))), None);
    assert_eq!(review_news(r#"{"type":"pending","room":"main"}"#), None);
    assert_eq!(review_news(r#"{"type":"pending","room":"a b","key":"k"}"#), None);
    assert_eq!(review_news(r#"{"type":"decided","room":"r","key":"k""#), None);
    assert_eq!(review_news(r#"{"type":"pendingx","room":"r","key":"k"}"#), None);
}
