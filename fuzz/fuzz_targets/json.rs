//! `json`: the JSON reader and writer (`wire::json`) and danmaku posts
//! (`wall::danmaku::parse_post`).
//!
//! Properties:
//! * The input as a JSON text: `json::parse_bytes(input, D)` agrees with a reference reader
//!   written here from RFC 8259 (plain recursive descent, depth cap `D`): both reject, or both
//!   accept with equal values. `D` is 64 and a small depth derived from the input. The
//!   reference follows the reader's documented choices where RFC 8259 leaves room: UTF-8
//!   only (§8.1), no byte order mark, and a `\u` escape of a surrogate must be a high+low
//!   pair (§8.2 leaves lone ones "unpredictable"; a Rust `String` cannot hold them).
//! * Generated documents: the input bytes also describe a value (containers, keys, strings
//!   with awkward characters, numbers in every JSON number form); written with
//!   `json::write_string` or with an escaper written here (`\uXXXX`, surrogate pairs, `\/`)
//!   and random whitespace, the text parses back (with its exact depth as the limit) to the
//!   same value, the reference reads it the same, and one level less is `TooDeep`.
//!   Numbers compare as the f64 std parses from the same text.
//! * `write_string` output never holds a raw control character, `<`, `>`, `&`, U+2028 or
//!   U+2029, and reads back as the same string.
//! * `danmaku::parse_post` never panics (on the input when UTF-8, and on the generated
//!   text); an accepted post has a trimmed, non-empty `msg` of at most 100 characters
//!   without control characters, equal to the document's `msg` trimmed, a `#rrggbb`
//!   lowercase colour, and its broadcast JSON reads back with the same `msg` and colour.
#![no_main]

mod common;

use common::Rng;
use danmaku_wall::wall::danmaku;
use danmaku_wall::wire::json::{self, JsonErrorKind, Value};
use libfuzzer_sys::fuzz_target;

// ---------------------------------------------------------------------------------------
// The reference reader (RFC 8259), recursive, on bytes.

struct Ref<'a> {
    s: &'a [u8],
    pos: usize,
    max_depth: usize,
}

fn reference(input: &[u8], max_depth: usize) -> Option<Value> {
    std::str::from_utf8(input).ok()?;
    let mut r = Ref { s: input, pos: 0, max_depth };
    r.ws();
    let v = r.value(0)?;
    r.ws();
    (r.pos == input.len()).then_some(v)
}

impl Ref<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }
    /// `depth`: containers around this value.
    fn value(&mut self, depth: usize) -> Option<Value> {
        match self.peek()? {
            b'[' => {
                if depth >= self.max_depth {
                    return None;
                }
                self.pos += 1;
                self.ws();
                let mut items = Vec::new();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                    return Some(Value::Array(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b']' => return Some(Value::Array(items)),
                        _ => return None,
                    }
                }
            }
            b'{' => {
                if depth >= self.max_depth {
                    return None;
                }
                self.pos += 1;
                self.ws();
                let mut members = Vec::new();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                    return Some(Value::Object(members));
                }
                loop {
                    self.ws();
                    if self.peek()? != b'"' {
                        return None;
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.next()? != b':' {
                        return None;
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    members.push((key, v));
                    self.ws();
                    match self.next()? {
                        b',' => continue,
                        b'}' => return Some(Value::Object(members)),
                        _ => return None,
                    }
                }
            }
            b'"' => self.string().map(Value::String),
            b't' => self.literal(b"true", Value::Bool(true)),
            b'f' => self.literal(b"false", Value::Bool(false)),
            b'n' => self.literal(b"null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }
    fn literal(&mut self, word: &[u8], v: Value) -> Option<Value> {
        if self.s[self.pos..].starts_with(word) {
            self.pos += word.len();
            Some(v)
        } else {
            None
        }
    }
    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }
    fn number(&mut self) -> Option<Value> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => self.pos += 1,
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).ok()?;
        Some(Value::Number(text.parse::<f64>().expect("std parses every JSON number")))
    }
    fn hex4(&mut self) -> Option<u32> {
        let mut code = 0;
        for _ in 0..4 {
            let b = self.next()?;
            code = code * 16 + char::from(b).to_digit(16)?;
        }
        Some(code)
    }
    fn string(&mut self) -> Option<String> {
        self.pos += 1; // "
        let mut out = Vec::new();
        loop {
            match self.next()? {
                b'"' => return Some(String::from_utf8(out).expect("input is UTF-8")),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            match hi {
                                0xD800..=0xDBFF => {
                                    if self.next()? != b'\\' || self.next()? != b'u' {
                                        return None;
                                    }
                                    let lo = self.hex4()?;
                                    if !(0xDC00..=0xDFFF).contains(&lo) {
                                        return None;
                                    }
                                    char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))?
                                }
                                0xDC00..=0xDFFF => return None,
                                _ => char::from_u32(hi)?,
                            }
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b if b < 0x20 => return None,
                b => out.push(b),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Generated documents.

/// A document with its numbers kept as text.
#[derive(Debug, Clone)]
enum Doc {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<Doc>),
    Obj(Vec<(String, Doc)>),
}

impl Doc {
    fn value(&self) -> Value {
        match self {
            Doc::Null => Value::Null,
            Doc::Bool(b) => Value::Bool(*b),
            Doc::Num(t) => Value::Number(t.parse().expect("a generated number parses")),
            Doc::Str(s) => Value::String(s.clone()),
            Doc::Arr(items) => Value::Array(items.iter().map(Doc::value).collect()),
            Doc::Obj(members) => Value::Object(members.iter().map(|(k, v)| (k.clone(), v.value())).collect()),
        }
    }
    fn depth(&self) -> usize {
        match self {
            Doc::Arr(items) => 1 + items.iter().map(Doc::depth).max().unwrap_or(0),
            Doc::Obj(members) => 1 + members.iter().map(|(_, v)| v.depth()).max().unwrap_or(0),
            _ => 0,
        }
    }
}

struct Gen<'a> {
    data: &'a [u8],
    pos: usize,
    nodes: usize,
}

const AWKWARD: &[char] = &[
    '"',
    '\\',
    '/',
    '<',
    '>',
    '&',
    '\u{0}',
    '\u{8}',
    '\u{c}',
    '\n',
    '\r',
    '\t',
    '\u{1f}',
    '\u{7f}',
    '\u{80}',
    '\u{85}',
    'é',
    '中',
    '弹',
    '\u{2028}',
    '\u{2029}',
    '\u{3000}',
    '\u{fdd0}',
    '\u{feff}',
    '\u{fffd}',
    '\u{ffff}',
    '😀',
    '𝄞',
    '\u{10000}',
    '\u{10ffff}',
    ' ',
    '\u{d7ff}',
    '\u{e000}',
];
const WORDS: &[&str] = &[
    "msg", "color", "size", "mode", "small", "medium", "large", "scroll", "top", "bottom", "#A0b1C2", "#fff", " hi ",
    "",
];

impl Gen<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn exhausted(&self) -> bool {
        self.pos >= self.data.len()
    }
    fn string(&mut self) -> String {
        let b = self.byte();
        if b & 0x80 != 0 {
            return WORDS[usize::from(b & 0x7F) % WORDS.len()].to_string();
        }
        let len = usize::from(b % 16);
        let mut s = String::new();
        for _ in 0..len {
            let b = self.byte();
            let c = match b {
                0x00..=0x7F => char::from(b),
                0x80..=0xBF => AWKWARD[usize::from(b - 0x80) % AWKWARD.len()],
                0xC0..=0xDF => {
                    let code = u32::from(self.byte()) << 8 | u32::from(self.byte());
                    char::from_u32(code).unwrap_or('\u{fffd}')
                }
                _ => {
                    let code = 0x10000
                        + ((u32::from(self.byte()) << 16 | u32::from(self.byte()) << 8 | u32::from(self.byte()))
                            % 0x10_0000);
                    char::from_u32(code).unwrap_or('\u{10ffff}')
                }
            };
            s.push(c);
        }
        s
    }
    fn digits(&mut self, s: &mut String, n: usize) {
        for _ in 0..n {
            s.push(char::from(b'0' + self.byte() % 10));
        }
    }
    fn number(&mut self) -> String {
        let b = self.byte();
        let mut s = String::new();
        if b & 1 != 0 {
            s.push('-');
        }
        if b & 2 != 0 {
            s.push('0');
        } else {
            s.push(char::from(b'1' + self.byte() % 9));
            let n = usize::from(self.byte() % 20);
            self.digits(&mut s, n);
        }
        if b & 4 != 0 {
            s.push('.');
            let n = 1 + usize::from(self.byte() % 20);
            self.digits(&mut s, n);
        }
        if b & 8 != 0 {
            s.push(if b & 16 != 0 { 'e' } else { 'E' });
            match b >> 5 & 3 {
                0 => s.push('+'),
                1 => s.push('-'),
                _ => {}
            }
            let n = 1 + usize::from(self.byte() % 4);
            self.digits(&mut s, n);
        }
        s
    }
    fn doc(&mut self, depth_left: usize) -> Doc {
        self.nodes += 1;
        if self.exhausted() || self.nodes > 500 {
            return Doc::Null;
        }
        let b = self.byte();
        match b % 8 {
            0 => Doc::Null,
            1 => Doc::Bool(b & 8 != 0),
            2 => Doc::Num(self.number()),
            3 => Doc::Str(self.string()),
            4 | 5 if depth_left > 0 => {
                let n = usize::from(b >> 3) % 6;
                Doc::Arr((0..n).map(|_| self.doc(depth_left - 1)).collect())
            }
            6 | 7 if depth_left > 0 => {
                let n = usize::from(b >> 3) % 6;
                Doc::Obj((0..n).map(|_| (self.string(), self.doc(depth_left - 1))).collect())
            }
            _ => Doc::Str(self.string()),
        }
    }
}

/// Writes `doc` as JSON: strings through `json::write_string` or `escape_all`, random
/// whitespace between tokens.
fn write(doc: &Doc, out: &mut String, rng: &mut Rng, own_escapes: bool) {
    match doc {
        Doc::Null => out.push_str("null"),
        Doc::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Doc::Num(t) => out.push_str(t),
        Doc::Str(s) => write_str(s, out, rng, own_escapes),
        Doc::Arr(items) => {
            out.push('[');
            ws(out, rng);
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    ws(out, rng);
                }
                write(item, out, rng, own_escapes);
                ws(out, rng);
            }
            out.push(']');
        }
        Doc::Obj(members) => {
            out.push('{');
            ws(out, rng);
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                    ws(out, rng);
                }
                write_str(k, out, rng, own_escapes);
                ws(out, rng);
                out.push(':');
                ws(out, rng);
                write(v, out, rng, own_escapes);
                ws(out, rng);
            }
            out.push('}');
        }
    }
}

fn ws(out: &mut String, rng: &mut Rng) {
    if rng.below(3) == 0 {
        for _ in 0..rng.range(1, 3) {
            out.push([' ', '\t', '\n', '\r'][rng.below(4)]);
        }
    }
}

fn write_str(s: &str, out: &mut String, rng: &mut Rng, own_escapes: bool) {
    if !own_escapes {
        json::write_string(out, s);
        return;
    }
    out.push('"');
    for c in s.chars() {
        let short = match c {
            '"' => Some("\\\""),
            '\\' => Some("\\\\"),
            '/' => Some("\\/"),
            '\u{8}' => Some("\\b"),
            '\u{c}' => Some("\\f"),
            '\n' => Some("\\n"),
            '\r' => Some("\\r"),
            '\t' => Some("\\t"),
            _ => None,
        };
        let must_escape = c < ' ' || c == '"' || c == '\\';
        match rng.below(3) {
            0 if !must_escape => out.push(c),
            1 if short.is_some() => out.push_str(short.unwrap()),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let hex = if rng.bool() { format!("\\u{unit:04x}") } else { format!("\\u{unit:04X}") };
                    out.push_str(&hex);
                }
            }
        }
    }
    out.push('"');
}

fn check_write_string(s: &str) {
    let mut out = String::new();
    json::write_string(&mut out, s);
    let unsafe_char = |c: char| c < ' ' || "<>&\u{2028}\u{2029}".contains(c);
    assert!(!out.contains(unsafe_char), "write_string left an unsafe character in {out:?}");
    assert_eq!(json::parse(&out, 0), Ok(Value::String(s.to_string())), "write_string output {out:?}");
}

fn check_post(text: &str) {
    let result = danmaku::parse_post(text);
    let Ok(post) = result else { return };
    let d = &post.danmaku;
    let doc = reference(text.as_bytes(), danmaku::MAX_JSON_DEPTH).expect("an accepted post is JSON");
    let msg = doc.get("msg").and_then(Value::as_str).expect("an accepted post has a string msg");
    assert_eq!(d.msg, msg.trim(), "msg is the document's, trimmed");
    assert!(!d.msg.is_empty() && d.msg.chars().count() <= danmaku::MAX_CHARS, "msg length");
    assert!(!d.msg.chars().any(char::is_control), "control character in msg");
    let color = d.color_str();
    assert!(color.len() == 7 && color.starts_with('#'), "color {color:?}");
    assert!(color[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)), "color {color:?}");
    let out = danmaku::broadcast_json(u64::MAX, d, 1_700_000_000_000);
    let back = json::parse(&out, 2).expect("broadcast JSON reads back");
    assert_eq!(back.get("msg").and_then(Value::as_str), Some(d.msg.as_str()));
    assert_eq!(back.get("color").and_then(Value::as_str), Some(color));
    let err = danmaku::error_json(&d.msg, post.reference.as_deref());
    assert!(json::parse(&err, 1).is_ok(), "error JSON reads back");
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    // 1. The input as a JSON text, against the reference.
    for depth in [64, rng.below(5)] {
        let ours = json::parse_bytes(data, depth);
        match reference(data, depth) {
            None => assert!(ours.is_err(), "accepted what the reference rejects (depth {depth}): {ours:?}"),
            Some(v) => assert_eq!(ours, Ok(v), "rejected or misread valid JSON (depth {depth})"),
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_post(text);
        check_write_string(text);
    }
    // 2. The input as a description of a document.
    let mut g = Gen { data, pos: 0, nodes: 0 };
    let doc = g.doc(12);
    let expect = doc.value();
    let depth = doc.depth();
    for own_escapes in [false, true] {
        let mut text = String::new();
        ws(&mut text, &mut rng);
        write(&doc, &mut text, &mut rng, own_escapes);
        ws(&mut text, &mut rng);
        assert_eq!(json::parse(&text, depth), Ok(expect.clone()), "generated {text:?}");
        assert_eq!(reference(text.as_bytes(), depth), Some(expect.clone()), "reference on generated {text:?}");
        if depth > 0 {
            let err = json::parse(&text, depth - 1).expect_err("one level too deep");
            assert_eq!(err.kind, JsonErrorKind::TooDeep, "{text:?} at depth {}", depth - 1);
        }
        check_post(&text);
    }
    if let Doc::Str(s) = &doc {
        check_write_string(s);
    }
});
