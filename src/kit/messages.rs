//! The server's JSON messages as the contract names them (`/work/shared/INTERFACE.md`:
//! "WebSocket", "Post acknowledgements", "Rooms over time"), parsed with the crate's own
//! [`json`] reader, and the post a client sends.
//!
//! Two byte scans ([`message_type`], [`danmaku_id`]) serve hot receive paths (floods, the
//! bench) where a JSON parse per frame would be the bottleneck.

use crate::wire::json::{self, Value};

/// Nesting the server's messages need (one object, no arrays inside).
const DEPTH: usize = 4;

/// The first frame after every `/ws` upgrade: `{"type":"hello","room":R,"epoch":E,"last":N}`,
/// with `"recovered"` when the upgrade asked to resume (`since`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    pub room: String,
    pub epoch: String,
    /// Id of the room's latest danmaku, 0 if none.
    pub last: u64,
    pub recovered: Option<bool>,
}

/// `{"type":"ack","ref":R,"id":N}`: the sender's post `R` was broadcast as danmaku `N`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub reference: String,
    pub id: u64,
}

/// Parses `text` as a JSON object whose `"type"` is `kind`.
fn object_of_type(text: &[u8], kind: &str) -> Result<Value, String> {
    let shown = || String::from_utf8_lossy(text).into_owned();
    let v = json::parse_bytes(text, DEPTH).map_err(|e| format!("not JSON ({e}): {}", shown()))?;
    match v.get("type").and_then(Value::as_str) {
        Some(t) if t == kind => Ok(v),
        _ => Err(format!("expected a {kind:?} message, got {}", shown())),
    }
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| format!("no string {key:?} in {v:?}"))
}

/// A whole number (JSON numbers are read as `f64`; ids stay far below 2^53 in tests).
fn whole(v: &Value, key: &str) -> Result<u64, String> {
    match v.get(key).and_then(Value::as_f64) {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && n < 9.007_199_254_740_992e15 => Ok(n as u64),
        _ => Err(format!("no whole number {key:?} in {v:?}")),
    }
}

impl Hello {
    /// Parses a `hello` message, checking every field's type.
    pub fn parse(text: &[u8]) -> Result<Hello, String> {
        let v = object_of_type(text, "hello")?;
        let recovered = match v.get("recovered") {
            None => None,
            Some(r) => Some(r.as_bool().ok_or_else(|| format!("\"recovered\" is not a boolean in {v:?}"))?),
        };
        Ok(Hello { room: string(&v, "room")?, epoch: string(&v, "epoch")?, last: whole(&v, "last")?, recovered })
    }
}

impl Ack {
    pub fn parse(text: &[u8]) -> Result<Ack, String> {
        let v = object_of_type(text, "ack")?;
        Ok(Ack { reference: string(&v, "ref")?, id: whole(&v, "id")? })
    }
}

/// The `"type"` of a server message, by a byte scan (no parse, no allocation): the first
/// `"type":"...` in the text. The server writes its keys without spaces.
pub fn message_type(text: &[u8]) -> Option<&[u8]> {
    const KEY: &[u8] = b"\"type\":\"";
    let at = text.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = text[at..].iter().position(|&b| b == b'"')?;
    Some(&text[at..at + len])
}

/// Whether `text` is the server's `hello`.
pub fn is_hello(text: &[u8]) -> bool {
    message_type(text) == Some(b"hello")
}

/// The `id` of a danmaku (or ack), by a byte scan: the digits after the first `"id":`.
pub fn danmaku_id(text: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"id\":";
    let at = text.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[at..at + digits]).ok()?.parse().ok()
}

/// A post: `{"msg":M}` plus `"ref":R` when given, both written with [`json::write_string`].
pub fn post(msg: &str, reference: Option<&str>) -> String {
    let mut out = String::from("{\"msg\":");
    json::write_string(&mut out, msg);
    if let Some(r) = reference {
        out.push_str(",\"ref\":");
        json::write_string(&mut out, r);
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello() {
        let h = Hello::parse(br#"{"type":"hello","room":"main","epoch":"e-1","last":0}"#).unwrap();
        assert_eq!(h, Hello { room: "main".into(), epoch: "e-1".into(), last: 0, recovered: None });
        let h = Hello::parse(br#"{"type":"hello","room":"r","epoch":"E","last":42,"recovered":true}"#).unwrap();
        assert_eq!((h.last, h.recovered), (42, Some(true)));
        for bad in [
            &br#"{"type":"danmaku","id":1}"#[..],
            br#"{"type":"hello","room":"r","epoch":"E","last":-1}"#,
            br#"{"type":"hello","room":"r","epoch":"E","last":1.5}"#,
            br#"{"type":"hello","room":"r","epoch":7,"last":1}"#,
            br#"{"type":"hello","room":"r","epoch":"E","last":1,"recovered":"yes"}"#,
            b"not json",
        ] {
            assert!(Hello::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn ack() {
        let a = Ack::parse(br#"{"type":"ack","ref":"p-1","id":9}"#).unwrap();
        assert_eq!(a, Ack { reference: "p-1".into(), id: 9 });
        assert!(Ack::parse(br#"{"type":"ack","ref":1,"id":9}"#).is_err());
    }

    #[test]
    fn scans() {
        let d = br##"{"type":"danmaku","id":42,"msg":"x","color":"#ffffff"}"##;
        assert_eq!(message_type(d), Some(&b"danmaku"[..]));
        assert_eq!(danmaku_id(d), Some(42));
        assert!(is_hello(br#"{"type":"hello","room":"bench","epoch":"x","last":3}"#));
        assert!(!is_hello(d));
        assert_eq!(message_type(b"{}"), None);
        assert_eq!(danmaku_id(br#"{"id":}"#), None);
    }

    #[test]
    fn posts() {
        assert_eq!(post("hi \"you\"", None), r#"{"msg":"hi \"you\""}"#);
        assert_eq!(post("x", Some("r1")), r#"{"msg":"x","ref":"r1"}"#);
    }
}
