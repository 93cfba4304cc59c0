//! A danmaku: the JSON a poster sends, its validation, and the JSON every wall receives
//! (the contract's WebSocket section).

use crate::wire::json::{self, Value};

/// Longest message, in Unicode code points after trimming.
pub const MAX_CHARS: usize = 100;

/// Deepest JSON nesting accepted in a post (unknown keys may nest; not without end).
pub const MAX_JSON_DEPTH: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Small,
    Medium,
    Large,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Scroll,
    Top,
    Bottom,
}

impl Size {
    pub fn as_str(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Medium => "medium",
            Size::Large => "large",
        }
    }
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Scroll => "scroll",
            Mode::Top => "top",
            Mode::Bottom => "bottom",
        }
    }
}

/// A valid post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Danmaku {
    /// Trimmed, 1..=100 code points, no control characters.
    pub msg: String,
    /// `#rrggbb`, lowercase.
    pub color: [u8; 7],
    pub size: Size,
    pub mode: Mode,
}

impl Danmaku {
    pub fn color_str(&self) -> &str {
        std::str::from_utf8(&self.color).unwrap_or("#ffffff")
    }
}

/// A valid post: the danmaku, and the client's `ref` if it sent one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub danmaku: Danmaku,
    /// The contract's "Post acknowledgements": 1 to 64 code points chosen by the client.
    pub reference: Option<String>,
}

/// A refused post: the human-readable reason, and the post's `ref` when it had a valid one
/// (so the error can carry it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub reason: String,
    pub reference: Option<String>,
}

/// Longest `ref`, in code points.
pub const MAX_REF_CHARS: usize = 64;

/// Parses and validates a post.
pub fn parse_post(text: &str) -> Result<Post, Refused> {
    let refuse = |reason: String, reference: Option<&str>| Refused { reason, reference: reference.map(str::to_string) };
    let value = json::parse(text, MAX_JSON_DEPTH).map_err(|e| refuse(e.to_string(), None))?;
    let Value::Object(_) = value else {
        return Err(refuse("a danmaku must be a JSON object like {\"msg\": \"hello\"}".to_string(), None));
    };
    let reference = match value.get("ref") {
        None => None,
        Some(Value::String(r)) if (1..=MAX_REF_CHARS).contains(&r.chars().count()) => Some(r.as_str()),
        Some(_) => return Err(refuse(format!("ref must be a string of 1 to {MAX_REF_CHARS} characters"), None)),
    };
    match parse_fields(&value) {
        Ok(danmaku) => Ok(Post { danmaku, reference: reference.map(str::to_string) }),
        Err(reason) => Err(refuse(reason, reference)),
    }
}

/// The danmaku's own fields: `msg` required, `color`, `size`, `mode` optional.
fn parse_fields(value: &Value) -> Result<Danmaku, String> {
    let msg = match value.get("msg") {
        None => return Err("msg is required".to_string()),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err("msg must be a string".to_string()),
    };
    if msg.is_empty() {
        return Err("msg is empty".to_string());
    }
    let chars = msg.chars().count();
    if chars > MAX_CHARS {
        return Err(format!("msg is too long: {chars} characters, at most {MAX_CHARS}"));
    }
    if msg.chars().any(char::is_control) {
        return Err("msg must not contain control characters".to_string());
    }
    let color = match value.get("color") {
        None => *b"#ffffff",
        Some(Value::String(c)) => parse_color(c).ok_or_else(|| "color must look like #rrggbb".to_string())?,
        Some(_) => return Err("color must be a string like #rrggbb".to_string()),
    };
    let size = match value.get("size") {
        None => Size::Medium,
        Some(Value::String(s)) if s == "small" => Size::Small,
        Some(Value::String(s)) if s == "medium" => Size::Medium,
        Some(Value::String(s)) if s == "large" => Size::Large,
        Some(_) => return Err("size must be \"small\", \"medium\" or \"large\"".to_string()),
    };
    let mode = match value.get("mode") {
        None => Mode::Scroll,
        Some(Value::String(s)) if s == "scroll" => Mode::Scroll,
        Some(Value::String(s)) if s == "top" => Mode::Top,
        Some(Value::String(s)) if s == "bottom" => Mode::Bottom,
        Some(_) => return Err("mode must be \"scroll\", \"top\" or \"bottom\"".to_string()),
    };
    Ok(Danmaku { msg: msg.to_string(), color, size, mode })
}

/// `#rrggbb` in any case → lowercase.
fn parse_color(s: &str) -> Option<[u8; 7]> {
    let bytes = s.as_bytes();
    if bytes.len() != 7 || bytes[0] != b'#' || !bytes[1..].iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    let mut color = [0u8; 7];
    for (out, b) in color.iter_mut().zip(bytes) {
        *out = b.to_ascii_lowercase();
    }
    Some(color)
}

/// Whether a server frame carries a danmaku (as [`broadcast_json`] writes it), not a
/// `delete` or `clear`: the contract's `danmaku_deliveries_total` counts "one danmaku frame
/// queued to one connection".
pub fn is_danmaku_frame(frame: &[u8]) -> bool {
    match crate::wire::frame::FrameHeader::decode(frame) {
        Ok(Some((_, header))) => frame[header..].starts_with(br#"{"type":"danmaku","#),
        _ => false,
    }
}

/// The broadcast every wall of the room receives.
pub fn broadcast_json(id: u64, d: &Danmaku, unix_ms: u64) -> String {
    let mut out = String::with_capacity(96 + d.msg.len());
    out.push_str("{\"type\":\"danmaku\",\"id\":");
    out.push_str(&id.to_string());
    out.push_str(",\"msg\":");
    json::write_string(&mut out, &d.msg);
    out.push_str(",\"color\":\"");
    out.push_str(d.color_str());
    out.push_str("\",\"size\":\"");
    out.push_str(d.size.as_str());
    out.push_str("\",\"mode\":\"");
    out.push_str(d.mode.as_str());
    out.push_str("\",\"time\":");
    out.push_str(&unix_ms.to_string());
    out.push('}');
    out
}

/// The answer to a rejected post, for its sender only (with the post's `ref`, if any).
pub fn error_json(reason: &str, reference: Option<&str>) -> String {
    let mut out = String::from("{\"type\":\"error\",\"error\":");
    json::write_string(&mut out, reason);
    push_ref(&mut out, reference);
    out
}

/// `{"type":"ack","ref":R,"id":N}`: the sender's post was broadcast as danmaku `id`.
pub fn ack_json(reference: &str, id: u64) -> String {
    let mut out = String::from("{\"type\":\"ack\",\"ref\":");
    json::write_string(&mut out, reference);
    out.push_str(",\"id\":");
    out.push_str(&id.to_string());
    out.push('}');
    out
}

/// `{"type":"held"}`: the post waits for a moderator's approval.
pub fn held_json(reference: Option<&str>) -> String {
    let mut out = String::from("{\"type\":\"held\"");
    push_ref(&mut out, reference);
    out
}

/// `{"type":"hello","room":R,"epoch":E,"last":N}`, the first frame on `/ws`, with
/// `"recovered"` when the wall asked to resume (the contract's "Rooms over time").
pub fn hello_json(room: &str, epoch: &str, last: u64, recovered: Option<bool>) -> String {
    let mut out = String::from("{\"type\":\"hello\",\"room\":");
    json::write_string(&mut out, room);
    out.push_str(",\"epoch\":");
    json::write_string(&mut out, epoch);
    out.push_str(",\"last\":");
    out.push_str(&last.to_string());
    if let Some(recovered) = recovered {
        out.push_str(if recovered { ",\"recovered\":true" } else { ",\"recovered\":false" });
    }
    out.push('}');
    out
}

/// Ends a JSON object, with `"ref":R` first when there is one.
fn push_ref(out: &mut String, reference: Option<&str>) {
    if let Some(r) = reference {
        out.push_str(",\"ref\":");
        json::write_string(out, r);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Danmaku {
        parse_post(text).unwrap_or_else(|e| panic!("{text}: {}", e.reason)).danmaku
    }

    #[test]
    fn defaults_and_fields() {
        let d = ok(r##"{"msg":"  hello  "}"##);
        assert_eq!((d.msg.as_str(), d.color_str(), d.size, d.mode), ("hello", "#ffffff", Size::Medium, Mode::Scroll));
        let d =
            ok(r##"{"msg":"hi","color":"#A0b1C2","size":"large","mode":"top","extra":{"nested":[1,2,{"x":null}]}}"##);
        assert_eq!((d.color_str(), d.size, d.mode), ("#a0b1c2", Size::Large, Mode::Top));
        assert_eq!(ok(r##"{"mode":"bottom","size":"small","msg":"x"}"##).mode, Mode::Bottom);
        assert_eq!(ok(r##"{"msg":"\ud83d\ude00 \u5f39\u5e55"}"##).msg, "😀 弹幕");
        assert_eq!(ok("{\"msg\":\"\\n\\t trimmed \\u3000\"}").msg, "trimmed");
    }

    #[test]
    fn danmaku_frames_are_told_from_moderation_events() {
        use crate::wire::frame::{Opcode, server_frame};
        let text = |json: &str| server_frame(Opcode::Text, json.as_bytes());
        let d = ok(r#"{"msg":"hi"}"#);
        assert!(is_danmaku_frame(&text(&broadcast_json(7, &d, 1))));
        let long = ok(&format!(r#"{{"msg":"{}"}}"#, "弹".repeat(100))); // a 2-byte length header
        assert!(is_danmaku_frame(&text(&broadcast_json(7, &long, 1))));
        for other in [r#"{"type":"delete","id":7}"#, r#"{"type":"clear"}"#, r#"{"type":"danmakux"}"#] {
            assert!(!is_danmaku_frame(&text(other)), "{other}");
        }
        assert!(!is_danmaku_frame(&[0x81]), "half a header");
    }

    #[test]
    fn length_is_counted_in_code_points() {
        assert_eq!(ok(&format!(r##"{{"msg":"{}"}}"##, "弹".repeat(100))).msg.chars().count(), 100);
        assert_eq!(ok(&format!(r##"{{"msg":"{}"}}"##, "😀".repeat(100))).msg.chars().count(), 100);
        let err = parse_post(&format!(r##"{{"msg":"{}"}}"##, "a".repeat(101))).unwrap_err().reason;
        assert!(err.contains("too long"), "{err}");
        // Trimming happens before counting.
        ok(&format!(r##"{{"msg":"   {}   "}}"##, "a".repeat(100)));
    }

    #[test]
    fn rejections_have_reasons() {
        for (text, reason) in [
            ("not json", "invalid JSON"),
            ("[1]", "JSON object"),
            ("\"msg\"", "JSON object"),
            ("{}", "msg is required"),
            (r##"{"msg":1}"##, "msg must be a string"),
            (r##"{"msg":null}"##, "msg must be a string"),
            (r##"{"msg":"   "}"##, "msg is empty"),
            (r##"{"msg":""}"##, "msg is empty"),
            (r##"{"msg":"a\u0007b"}"##, "control characters"),
            (r##"{"msg":"a\tb"}"##, "control characters"),
            (r##"{"msg":"a\u0085b"}"##, "control characters"),
            (r##"{"msg":"x","color":"red"}"##, "color"),
            (r##"{"msg":"x","color":"#fff"}"##, "color"),
            (r##"{"msg":"x","color":"#gggggg"}"##, "color"),
            (r##"{"msg":"x","color":7}"##, "color"),
            (r##"{"msg":"x","size":"huge"}"##, "size"),
            (r##"{"msg":"x","size":"Large"}"##, "size"),
            (r##"{"msg":"x","size":null}"##, "size"),
            (r##"{"msg":"x","mode":"SCROLL"}"##, "mode"),
            (r##"{"msg":"x","mode":1}"##, "mode"),
            (r##"{"msg":"x",}"##, "invalid JSON"),
        ] {
            let err = parse_post(text).unwrap_err().reason;
            assert!(err.contains(reason), "{text}: {err}");
        }
        // The object itself is depth 1: 31 more levels pass, 32 more do not.
        let nested = |n: usize| format!(r##"{{"msg":"x","k":{}{}}}"##, "[".repeat(n), "]".repeat(n));
        assert!(parse_post(&nested(MAX_JSON_DEPTH - 1)).is_ok());
        assert!(parse_post(&nested(MAX_JSON_DEPTH)).unwrap_err().reason.contains("invalid JSON"));
        let deep = nested(100);
        assert!(parse_post(&deep).unwrap_err().reason.contains("invalid JSON"));
    }

    #[test]
    fn broadcast_escapes_everything() {
        let d = ok(r##"{"msg":"<b>\"quote\" \\ </script>\u2028","color":"#ABCDEF"}"##);
        let out = broadcast_json(7, &d, 1_700_000_000_000);
        assert!(!out.contains("<b>") && !out.contains("</script>") && !out.contains('\u{2028}'));
        let parsed = json::parse(&out, 4).unwrap();
        assert_eq!(parsed.get("type").and_then(Value::as_str), Some("danmaku"));
        assert_eq!(parsed.get("msg").and_then(Value::as_str), Some(d.msg.as_str()));
        assert_eq!(parsed.get("color").and_then(Value::as_str), Some("#abcdef"));
        assert_eq!(parsed.get("id"), Some(&Value::Number(7.0)));
        assert_eq!(parsed.get("time"), Some(&Value::Number(1_700_000_000_000.0)));
        let err = error_json("bad \"thing\"\n", None);
        assert_eq!(json::parse(&err, 2).unwrap().get("error").and_then(Value::as_str), Some("bad \"thing\"\n"));
    }

    #[test]
    fn refs_are_checked_and_travel_with_errors_and_acks() {
        let post = parse_post(r##"{"msg":"hi","ref":"a1"}"##).unwrap();
        assert_eq!(post.reference.as_deref(), Some("a1"));
        assert_eq!(parse_post(&format!(r##"{{"msg":"x","ref":"{}"}}"##, "弹".repeat(64))).unwrap().danmaku.msg, "x");
        for bad in [r##"{"msg":"x","ref":""}"##, r##"{"msg":"x","ref":null}"##, r##"{"msg":"x","ref":7}"##] {
            let e = parse_post(bad).unwrap_err();
            assert!(e.reason.contains("ref must be") && e.reference.is_none(), "{bad}: {e:?}");
        }
        let long = format!(r##"{{"msg":"x","ref":"{}"}}"##, "a".repeat(65));
        assert!(parse_post(&long).unwrap_err().reason.contains("ref must be"));
        let e = parse_post(r##"{"msg":"","ref":"r9"}"##).unwrap_err();
        assert_eq!((e.reason.as_str(), e.reference.as_deref()), ("msg is empty", Some("r9")));
        assert_eq!(error_json("no", Some("r9")), r#"{"type":"error","error":"no","ref":"r9"}"#);
        assert_eq!(ack_json("r\"9", 12), r#"{"type":"ack","ref":"r\"9","id":12}"#);
        assert_eq!(held_json(None), r#"{"type":"held"}"#);
        assert_eq!(held_json(Some("k")), r#"{"type":"held","ref":"k"}"#);
        assert_eq!(hello_json("main", "e-1", 0, None), r#"{"type":"hello","room":"main","epoch":"e-1","last":0}"#);
        assert_eq!(
            hello_json("a", "e", 9, Some(false)),
            r#"{"type":"hello","room":"a","epoch":"e","last":9,"recovered":false}"#
        );
    }
}
