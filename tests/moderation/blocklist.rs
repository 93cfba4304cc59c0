//! The blocklist: edits apply live, are saved to the `--blocklist` file and survive a
//! restart; without a file they apply live only.

use std::path::Path;
use std::time::Duration;

use danmaku_wall::wire::json::Value;

use crate::admin::{Admin, Moderated};
use crate::common::{TempDir, Ws};
use crate::support::{array_of, assert_danmaku, assert_rejected, post_reply};

/// The words of a blocklist file (neither blank lines nor comments).
fn words_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

pub fn blocklist_edits_apply_live_persist_and_survive_a_restart() {
    let dir = TempDir::new("blocklist");
    let file = dir.join("blocked.txt");
    std::fs::write(&file, "alpha\n").unwrap();
    let flags = ["--blocklist", file.to_str().unwrap()];
    {
        let m = Moderated::start(&flags);
        let addr = m.addr();
        let (mut poster, _) = Ws::join(addr, "words");
        assert_rejected(&post_reply(&mut poster, "say ALPHA", None), "blocked");
        let mut admin = Admin::sign_in(addr);
        admin.ok(r#"{"type":"blocklist","add":["Beta Gamma"],"remove":["alpha"]}"#);
        assert_danmaku(&post_reply(&mut poster, "say alpha", None), 1, "say alpha");
        assert_rejected(&post_reply(&mut poster, "x beta gamma y", None), "blocked");
        assert_danmaku(&post_reply(&mut poster, "beta alone", None), 2, "beta alone");
        assert!(m.server.wait_for_log("blocklist saved", Duration::from_secs(2)), "{:?}", m.server.logs());
        let words: Vec<String> = words_of(&file).iter().map(|w| w.to_lowercase()).collect();
        assert_eq!(words, ["beta gamma"], "the file after the edit");
        let leftovers: Vec<_> = std::fs::read_dir(&dir.path).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
        let again = Admin::sign_in(addr);
        let listed: Vec<String> =
            array_of(&again.state, "blocklist").iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
        assert_eq!(listed, ["beta gamma"]);
    }
    let m = Moderated::start(&flags);
    let (mut poster, _) = Ws::join(m.addr(), "words");
    assert_rejected(&post_reply(&mut poster, "BETA GAMMA", None), "blocked");
    assert_danmaku(&post_reply(&mut poster, "alpha", None), 1, "alpha");
    let admin = Admin::sign_in(m.addr());
    let listed: Vec<String> =
        array_of(&admin.state, "blocklist").iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
    assert_eq!(listed, ["beta gamma"], "the comment lines the server wrote are not phrases");
}

pub fn blocklist_edits_without_a_file_apply_live_only() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "nofile");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"blocklist","add":["forbidden"]}"#);
    assert_rejected(&post_reply(&mut poster, "forbidden fruit", None), "blocked");
    admin.ok(r#"{"type":"blocklist","remove":["forbidden"]}"#);
    assert_danmaku(&post_reply(&mut poster, "forbidden fruit", None), 1, "forbidden fruit");
    assert!(!m.server.log_contains("blocklist saved"));
}

// ---------------------------------------------------------------------------------------------
