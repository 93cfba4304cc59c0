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

/// Parses and validates a post. The error is the human-readable reason sent to the poster.
pub fn parse_post(text: &str) -> Result<Danmaku, String> {
    let value = json::parse(text, MAX_JSON_DEPTH).map_err(|e| e.to_string())?;
    let Value::Object(_) = value else {
        return Err("a danmaku must be a JSON object like {\"msg\": \"hello\"}".to_string());
    };
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

/// The answer to a rejected post, for its sender only.
pub fn error_json(reason: &str) -> String {
    let mut out = String::from("{\"type\":\"error\",\"error\":");
    json::write_string(&mut out, reason);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Danmaku {
        parse_post(text).unwrap_or_else(|e| panic!("{text}: {e}"))
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
    fn length_is_counted_in_code_points() {
        assert_eq!(ok(&format!(r##"{{"msg":"{}"}}"##, "弹".repeat(100))).msg.chars().count(), 100);
        assert_eq!(ok(&format!(r##"{{"msg":"{}"}}"##, "😀".repeat(100))).msg.chars().count(), 100);
        let err = parse_post(&format!(r##"{{"msg":"{}"}}"##, "a".repeat(101))).unwrap_err();
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
            let err = parse_post(text).unwrap_err();
            assert!(err.contains(reason), "{text}: {err}");
        }
        let deep = format!(r##"{{"msg":"x","k":{}{}}}"##, "[".repeat(100), "]".repeat(100));
        assert!(parse_post(&deep).unwrap_err().contains("invalid JSON"));
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
        let err = error_json("bad \"thing\"\n");
        assert_eq!(json::parse(&err, 2).unwrap().get("error").and_then(Value::as_str), Some("bad \"thing\"\n"));
    }
}
