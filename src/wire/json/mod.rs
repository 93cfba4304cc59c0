//! A small, strict JSON reader and writer (RFC 8259).
//!
//! The reader accepts exactly the JSON text grammar of RFC 8259 and nothing more: any value at
//! the top level, no comments, no trailing commas, no byte order mark, no lone surrogates. It is
//! iterative (an explicit stack instead of recursion), so hostile nesting costs a bounded amount
//! of memory and can never overflow the call stack: `max_depth` is checked *before* a container
//! is opened. It runs in time linear in the input and never panics on any input.
//!
//! The writer only writes strings ([`write_string`]); callers build the rest of a document by
//! hand. It escapes everything that could end a string or a `<script>` element early.
//!
//! Note that a [`Value`] is dropped, cloned and compared recursively, so keep `max_depth` modest
//! (hundreds, not millions).

use std::fmt;

/// A parsed JSON value. Objects keep their members in document order (duplicates kept).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    /// The value of the first member named `key`, if `self` is an object that has one.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number of a number value.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The boolean of a `true`/`false` value.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }
}

/// Why and where (byte offset into the input) a document was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub offset: usize,
    pub kind: JsonErrorKind,
}

/// The reasons a document can be rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonErrorKind {
    /// The input ended in the middle of a value.
    UnexpectedEnd,
    /// A character that cannot start a value (or continue a literal) here.
    UnexpectedChar(char),
    /// Something other than a string where an object key belongs.
    ExpectedKey,
    /// An object key not followed by `:`.
    ExpectedColon,
    /// An array element not followed by `,` or `]`.
    ExpectedCommaOrBracket,
    /// An object member not followed by `,` or `}`.
    ExpectedCommaOrBrace,
    /// A backslash followed by something other than `" \ / b f n r t u`.
    InvalidEscape,
    /// `\u` not followed by four hex digits.
    InvalidUnicodeEscape,
    /// A `\u` escape of a UTF-16 surrogate that is not part of a high+low pair.
    LoneSurrogate,
    /// A raw character below U+0020 inside a string.
    ControlCharInString,
    /// A number that does not follow the JSON number grammar.
    InvalidNumber,
    /// Arrays/objects nested deeper than the caller allows.
    TooDeep,
    /// More than whitespace after the top-level value.
    TrailingCharacters,
    /// The input bytes are not UTF-8 (only from [`parse_bytes`]).
    InvalidUtf8,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid JSON at byte {}: ", self.offset)?;
        match self.kind {
            JsonErrorKind::UnexpectedEnd => f.write_str("unexpected end of input"),
            JsonErrorKind::UnexpectedChar(c) if c.is_ascii_graphic() || c.is_alphanumeric() => {
                write!(f, "unexpected character '{c}'")
            }
            JsonErrorKind::UnexpectedChar(c) => {
                write!(f, "unexpected character U+{:04X}", c as u32)
            }
            JsonErrorKind::ExpectedKey => f.write_str("expected a string as object key"),
            JsonErrorKind::ExpectedColon => f.write_str("expected ':' after object key"),
            JsonErrorKind::ExpectedCommaOrBracket => f.write_str("expected ',' or ']' in array"),
            JsonErrorKind::ExpectedCommaOrBrace => f.write_str("expected ',' or '}' in object"),
            JsonErrorKind::InvalidEscape => f.write_str("invalid escape in string"),
            JsonErrorKind::InvalidUnicodeEscape => f.write_str("invalid \\u escape in string"),
            JsonErrorKind::LoneSurrogate => f.write_str("unpaired surrogate in \\u escape"),
            JsonErrorKind::ControlCharInString => f.write_str("control character in string"),
            JsonErrorKind::InvalidNumber => f.write_str("invalid number"),
            JsonErrorKind::TooDeep => f.write_str("nested too deeply"),
            JsonErrorKind::TrailingCharacters => f.write_str("unexpected data after the value"),
            JsonErrorKind::InvalidUtf8 => f.write_str("not valid UTF-8"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Parse one complete JSON document (surrounding whitespace allowed, nothing else after it).
///
/// `max_depth` bounds nesting of arrays/objects (depth 1 = a top-level object/array; 0 allows
/// only scalars); deeper input is a [`JsonErrorKind::TooDeep`] error, never a stack overflow.
pub fn parse(input: &str, max_depth: usize) -> Result<Value, JsonError> {
    let mut parser = Parser::new(input);
    let value = parser.document(max_depth)?;
    parser.skip_whitespace();
    if parser.peek().is_some() {
        return Err(parser.error(JsonErrorKind::TrailingCharacters));
    }
    Ok(value)
}

/// Like [`parse`], for raw bytes: invalid UTF-8 anywhere is a [`JsonErrorKind::InvalidUtf8`]
/// error at the first bad byte (RFC 8259 §8.1: JSON text is UTF-8).
pub fn parse_bytes(input: &[u8], max_depth: usize) -> Result<Value, JsonError> {
    match std::str::from_utf8(input) {
        Ok(text) => parse(text, max_depth),
        Err(e) => Err(JsonError { offset: e.valid_up_to(), kind: JsonErrorKind::InvalidUtf8 }),
    }
}

/// Append `s` as a JSON string literal (with the quotes) to `out`.
///
/// Escapes `"`, `\` and every control character below U+0020 (RFC 8259 §7), and also `<`, `>`,
/// `&`, U+2028 and U+2029, so the literal is safe inside HTML `<script>` and JavaScript source.
pub fn write_string(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{0}'..='\u{1f}' | '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let code = c as usize; // at most 0xFFFF for every char in this arm
                out.push_str("\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(char::from(HEX[(code >> shift) & 0xF])); // `& 0xF` < 16: in bounds
                }
            }
            _ => out.push(c),
        }
    }
    out.push('"');
}

mod parser;

use parser::Parser;

#[cfg(test)]
mod tests {
    use super::JsonErrorKind::*;
    use super::*;

    fn num(n: f64) -> Value {
        Value::Number(n)
    }
    fn s(text: &str) -> Value {
        Value::String(text.to_string())
    }
    fn arr(items: Vec<Value>) -> Value {
        Value::Array(items)
    }
    fn obj(members: Vec<(&str, Value)>) -> Value {
        Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
    }
    fn fail(offset: usize, kind: JsonErrorKind) -> Result<Value, JsonError> {
        Err(JsonError { offset, kind })
    }

    #[test]
    #[rustfmt::skip]
    fn accepts_valid_documents() {
        let cases: Vec<(&str, Value)> = vec![
            ("null", Value::Null), ("true", Value::Bool(true)), ("false", Value::Bool(false)),
            // Numbers (§6)
            (" \t\r\n 0 \n\r\t ", num(0.0)), ("-0", num(-0.0)), ("1", num(1.0)), ("-1", num(-1.0)),
            ("12.5", num(12.5)), ("-0.25", num(-0.25)), ("1e3", num(1000.0)), ("1E+3", num(1000.0)),
            ("2.5e-3", num(0.0025)), ("0e0", num(0.0)), ("-0.0E-0", num(-0.0)),
            ("123456789012345678901234567890", num(1.2345678901234568e29)),
            ("1e999", num(f64::INFINITY)), ("-1e999999999999999999", num(f64::NEG_INFINITY)),
            ("1e-999", num(0.0)),
            // Strings (§7)
            (r#""""#, s("")), (r#""abc""#, s("abc")),
            (r#""\"\\\/\b\f\n\r\t""#, s("\"\\/\u{8}\u{c}\n\r\t")),
            (r#""\u0041\u00e9\u4E2D\u0000\u001f""#, s("Aé中\u{0}\u{1f}")),
            (r#""\ud83d\ude00""#, s("😀")), (r#""\uD834\uDD1E x""#, s("𝄞 x")),
            (r#""\u2028\u2029\uffff""#, s("\u{2028}\u{2029}\u{ffff}")),
            ("\"é中😀\u{7f}\u{feff}'</script>\"", s("é中😀\u{7f}\u{feff}'</script>")),
            (r#"["\u005C", "\"", "a\/b"]"#, arr(vec![s("\\"), s("\""), s("a/b")])),
            // Arrays and objects (§4, §5)
            ("[]", arr(vec![])), ("[ ]", arr(vec![])), ("{}", obj(vec![])), ("{ \n }", obj(vec![])),
            ("[1,[2,[3,[]]],{}]", arr(vec![
                num(1.0), arr(vec![num(2.0), arr(vec![num(3.0), arr(vec![])])]), obj(vec![]),
            ])),
            (" { \"a\" : [ 1 , 2 ] , \"b\" : null } ", obj(vec![
                ("a", arr(vec![num(1.0), num(2.0)])), ("b", Value::Null),
            ])),
            (r#"{"ignored":{"deep":[{"x":[true,null]}]},"text":"hi"}"#, obj(vec![
                ("ignored", obj(vec![("deep", arr(vec![obj(vec![
                    ("x", arr(vec![Value::Bool(true), Value::Null])),
                ])]))])),
                ("text", s("hi")),
            ])),
            (r#"{"a":1,"a":2,"":"e"}"#, obj(vec![("a", num(1.0)), ("a", num(2.0)), ("", s("e"))])),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input, 16), Ok(expected), "input: {input:?}");
        }
    }

    #[test]
    #[rustfmt::skip]
    fn rejects_invalid_documents() {
        let cases: &[(&str, usize, JsonErrorKind)] = &[
            ("", 0, UnexpectedEnd), ("  ", 2, UnexpectedEnd), ("]", 0, UnexpectedChar(']')),
            // Numbers
            ("01", 0, InvalidNumber), ("-01", 0, InvalidNumber), ("[00]", 1, InvalidNumber),
            ("+1", 0, UnexpectedChar('+')), (".5", 0, UnexpectedChar('.')), ("1.", 0, InvalidNumber),
            ("[1.]", 1, InvalidNumber), ("1.e3", 0, InvalidNumber), ("1e", 0, InvalidNumber),
            ("1e+", 0, InvalidNumber), ("-", 0, InvalidNumber), ("--1", 0, InvalidNumber),
            ("- 1", 0, InvalidNumber), ("0x10", 0, InvalidNumber), ("1.2.3", 0, InvalidNumber),
            ("12abc", 0, InvalidNumber), ("1_000", 1, TrailingCharacters),
            ("NaN", 0, UnexpectedChar('N')), ("-NaN", 0, InvalidNumber),
            ("Infinity", 0, UnexpectedChar('I')), ("-Infinity", 0, InvalidNumber),
            // Literals
            ("tru", 3, UnexpectedEnd), ("trUe", 2, UnexpectedChar('U')),
            ("True", 0, UnexpectedChar('T')), ("nul", 3, UnexpectedEnd), ("nulll", 4, TrailingCharacters),
            // Structure
            ("[1,]", 3, UnexpectedChar(']')), ("[,1]", 1, UnexpectedChar(',')),
            ("[1 2]", 3, ExpectedCommaOrBracket), ("[1;2]", 2, ExpectedCommaOrBracket),
            ("[1}", 2, ExpectedCommaOrBracket), (r#"{"a":1,}"#, 7, ExpectedKey),
            (r#"{"a" 1}"#, 5, ExpectedColon), (r#"{"a"::1}"#, 5, UnexpectedChar(':')),
            (r#"{"a":1 "b":2}"#, 7, ExpectedCommaOrBrace), (r#"{"a":1]"#, 6, ExpectedCommaOrBrace),
            ("{'a':1}", 1, ExpectedKey), ("{a:1}", 1, ExpectedKey), ("{1:1}", 1, ExpectedKey),
            ("['a']", 1, UnexpectedChar('\'')), ("[", 1, UnexpectedEnd), ("{", 1, UnexpectedEnd),
            (r#"{"a""#, 4, UnexpectedEnd), (r#"{"a":"#, 5, UnexpectedEnd),
            ("[1,", 3, UnexpectedEnd), ("[1", 2, UnexpectedEnd),
            ("[1]]", 3, TrailingCharacters), ("1 2", 2, TrailingCharacters),
            ("{} x", 3, TrailingCharacters), ("[1] // comment", 4, TrailingCharacters),
            ("/* c */ 1", 0, UnexpectedChar('/')),
            // Only four whitespace characters (§2); no byte order mark (§8.1)
            ("\u{feff}{}", 0, UnexpectedChar('\u{feff}')), ("\u{b}1", 0, UnexpectedChar('\u{b}')),
            ("\u{c}1", 0, UnexpectedChar('\u{c}')), ("\u{a0}1", 0, UnexpectedChar('\u{a0}')),
            ("é", 0, UnexpectedChar('é')),
            // Strings
            ("\"a", 2, UnexpectedEnd), ("\"a\nb\"", 2, ControlCharInString),
            ("\"\t\"", 1, ControlCharInString), ("\"\u{0}\"", 1, ControlCharInString),
            ("\"\u{1f}\"", 1, ControlCharInString), (r#""\x41""#, 1, InvalidEscape),
            (r#""\'""#, 1, InvalidEscape), (r#""\U0041""#, 1, InvalidEscape),
            ("\"\\\t\"", 1, InvalidEscape), ("\"\\é\"", 1, InvalidEscape), ("\"\\", 2, UnexpectedEnd),
            (r#""\u12""#, 5, InvalidUnicodeEscape), (r#""\u12G4""#, 5, InvalidUnicodeEscape),
            (r#""\u00"#, 5, UnexpectedEnd),
            // Surrogates must come as a high+low pair
            (r#""\ud800""#, 1, LoneSurrogate), (r#""\udc00""#, 1, LoneSurrogate),
            (r#""\ud800x""#, 1, LoneSurrogate), (r#""\ud800\n""#, 1, LoneSurrogate),
            (r#""\ud800\u0041""#, 1, LoneSurrogate), (r#""\ud83d\ud83d""#, 1, LoneSurrogate),
            (r#""\ude00\ud83d""#, 1, LoneSurrogate), (r#""\ud800\u12""#, 11, InvalidUnicodeEscape),
        ];
        for &(input, offset, kind) in cases {
            assert_eq!(parse(input, 16), fail(offset, kind), "input: {input:?}");
        }
    }

    #[test]
    fn checks_utf8_first() {
        assert_eq!(parse_bytes(b"[\"ok\"]", 4), Ok(arr(vec![s("ok")])));
        let bad: &[(&[u8], usize)] = &[
            (b"\"\xff\"", 1),
            (b"[\"a\xc3\"]", 3),
            (b"\xef\xbb", 0),
            (b"\"\xed\xa0\x80\"", 1), // UTF-8 encoded surrogate
            (b"\"\xc0\xaf\"", 1),     // overlong
        ];
        for &(input, offset) in bad {
            assert_eq!(parse_bytes(input, 4), fail(offset, InvalidUtf8));
        }
    }

    #[test]
    fn enforces_depth_limit_before_descending() {
        assert_eq!(parse("1", 0), Ok(num(1.0)));
        assert_eq!(parse("[]", 0), fail(0, TooDeep));
        assert!(parse("[]", 1).is_ok());
        assert!(parse("[[1],[2,{}]]", 3).is_ok());
        assert_eq!(parse("[[1],[2,{}]]", 2), fail(8, TooDeep));
        assert!(parse(r#"{"a":{"b":[]}}"#, 3).is_ok());
        assert_eq!(parse(r#"{"a":{"b":[]}}"#, 2), fail(10, TooDeep));
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        assert!(parse(&nested(64), 64).is_ok());
        assert_eq!(parse(&nested(65), 64), fail(64, TooDeep));
        let hostile = "[".repeat(100_000);
        assert_eq!(parse(&hostile, 512), fail(512, TooDeep));
        // Even with no real limit, reading is iterative: no stack overflow.
        assert_eq!(parse(&hostile, usize::MAX), fail(100_000, UnexpectedEnd));
        let objects = "{\"a\":".repeat(100_000);
        assert_eq!(parse(&objects, 1000), fail(5000, TooDeep));
    }

    #[test]
    fn value_accessors() {
        let v = parse(r#"{"type":"msg","n":2,"ok":true,"type":"dup"}"#, 4);
        let v = v.unwrap_or(Value::Null);
        assert_eq!(v.get("type").and_then(Value::as_str), Some("msg"));
        assert_eq!(v.get("n").and_then(Value::as_f64), Some(2.0));
        assert_eq!(v.get("ok").and_then(Value::as_bool), Some(true));
        assert_eq!(v.get("missing"), None);
        assert_eq!(s("x").get("x"), None);
        assert_eq!(num(1.0).as_str(), None);
    }

    #[test]
    #[rustfmt::skip]
    fn error_messages_are_plain() {
        let cases = [
            (r#"{"a" 1}"#, "invalid JSON at byte 5: expected ':' after object key"),
            ("[1,]", "invalid JSON at byte 3: unexpected character ']'"),
            ("\u{feff}1", "invalid JSON at byte 0: unexpected character U+FEFF"),
            ("\"\\ud800\"", "invalid JSON at byte 1: unpaired surrogate in \\u escape"),
            ("", "invalid JSON at byte 0: unexpected end of input"),
        ];
        for (input, message) in cases {
            assert_eq!(parse(input, 8).map_err(|e| e.to_string()), Err(message.to_string()));
        }
    }

    #[test]
    fn writer_escapes_exactly_what_it_must() {
        let mut out = String::new();
        write_string(&mut out, "a\"b\\\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}</x>&\u{2028}\u{2029}é😀/'");
        let expected =
            r#""a\"b\\\n\r\t\b\f\u0000\u001f"#.to_string() + "\u{7f}" + r#"\u003c/x\u003e\u0026\u2028\u2029é😀/'""#;
        assert_eq!(out, expected);
    }

    #[test]
    fn writer_round_trips() {
        let all_ascii: String = (0u8..0x80).map(char::from).collect();
        let cases = [
            "",
            all_ascii.as_str(),
            "\u{2028}\u{2029}",
            "😀 𝄞 中文 émoji",
            r#"say "hi" \ back\\slash \u0041"#,
            "</script><script>alert(1)</script>",
            "\u{feff}\u{ffff}\u{10ffff}",
        ];
        for case in cases {
            let mut out = String::from("text before: ");
            let prefix_len = out.len();
            write_string(&mut out, case);
            let literal = &out[prefix_len..];
            assert_eq!(parse(literal, 0), Ok(s(case)), "literal: {literal}");
            let unsafe_char = |c: char| c < ' ' || "<>&\u{2028}\u{2029}".contains(c);
            assert!(!literal.contains(unsafe_char), "unescaped character in {literal:?}");
        }
    }
}
