//! Danmaku posts for `/ws`: valid ones with the `msg` their broadcast must carry, invalid ones
//! (INTERFACE.md, client to server: `msg` of 1 to 100 code points, `#rrggbb` colours, known
//! sizes and modes), and the character-level mutations that break them or not (RFC 8259 syntax).

use crate::common::Rng;

/// Valid posts and the `msg` their broadcast must carry.
pub(crate) fn valid_posts() -> Vec<(String, String)> {
    let hundred = "弹".repeat(100);
    vec![
        (r#"{"msg":"hello"}"#.into(), "hello".into()),
        (r##"{"msg":"弹幕 🎉","color":"#A1b2C3","size":"large","mode":"top"}"##.into(), "弹幕 🎉".into()),
        (r#"{"msg":"  spaced  ","size":"small","mode":"bottom","extra":[1,2,{"a":null}]}"#.into(), "spaced".into()),
        (r##"{"color":"#000000","msg":"order"}"##.into(), "order".into()),
        (r#"{"msg":"esc \"q\" \\ \/ \u00e9\u4e2d\ud83d\ude00"}"#.into(), "esc \"q\" \\ / é中😀".into()),
        (r#"{"msg":"x"}"#.into(), "x".into()),
        (format!(r#"{{"msg":"{hundred}"}}"#), hundred.clone()),
        (" \t\n{ \"msg\" : \"ws\" , \"mode\" : \"scroll\" } \r\n".into(), "ws".into()),
        (r#"{"msg":"<script>alert(1)</script>&amp;"}"#.into(), "<script>alert(1)</script>&amp;".into()),
    ]
}

/// Posts the server must reject with an error reply.
pub(crate) fn invalid_posts() -> Vec<String> {
    vec![
        r#"{"msg":""}"#.into(),
        r#"{"msg":5}"#.into(),
        "{}".into(),
        "[]".into(),
        r#""msg""#.into(),
        r#"{"msg":"x","color":"red"}"#.into(),
        format!(r#"{{"msg":"{}"}}"#, "x".repeat(101)),
        r#"{"msg":"a\u0007"}"#.into(),
        r#"{"msg":"x","size":"Large"}"#.into(),
        r#"{"msg":"x",}"#.into(),
        r#"{"msg":"\ud800"}"#.into(),
        String::new(),
    ]
}

/// Pieces of JSON syntax, escapes (lone surrogates too), and characters that are control,
/// invisible or outside ASCII.
const TOKENS: [&str; 32] = [
    "{", "}", "[", "]", "\"", ":", ",", "\\", " ", "\t", "\n", "0", "-", "e", ".", "true", "null", "\\u0000",
    "\\ud800", "\\udc00", "\\u", "弹", "😀", "\u{1}", "\u{7f}", "\u{85}", "\u{200b}", "\u{feff}", "\u{2028}", "\u{0}",
    "1e99999", "\"msg\":",
];

/// One character-level mutation of a post; returns its name.
pub(crate) fn mutate_json(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let len = text.len();
    match rng.below(10) {
        0 if len > 0 => {
            let at = rng.below(len);
            text.remove(at);
            format!("delete char {at}")
        }
        1 | 2 => {
            let at = rng.below(len + 1);
            let token = rng.pick(&TOKENS);
            text.splice(at..at, token.chars());
            format!("insert {token:?} at {at}")
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let token = rng.pick(&TOKENS);
            text.splice(at..at + 1, token.chars());
            format!("replace char {at} by {token:?}")
        }
        4 if len > 0 => duplicate_chars(rng, text),
        5 => {
            let at = rng.below(len + 1);
            text.truncate(at);
            format!("truncate at {at}")
        }
        6 => nest_deeply(rng, text),
        7 => msg_around_the_limit(rng, text),
        8 => insert_field(rng, text),
        _ => insert_white_space(rng, text),
    }
}

/// Repeats 1 to 20 characters in place (`text` is not empty).
fn duplicate_chars(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let len = text.len();
    let at = rng.below(len);
    let n = rng.range(1, 20).min(len - at);
    let copy: Vec<char> = text[at..at + n].to_vec();
    text.splice(at..at, copy);
    format!("duplicate {n} chars at {at}")
}

/// A post whose `deep` field nests arrays 2 to 20,000 deep (past the nesting limit, and far).
fn nest_deeply(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let depth = *rng.pick(&[2, 20, 64, 65, 200, 5000, 20_000]);
    let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let doc = format!(r#"{{"deep":{nest},"msg":"deep"}}"#);
    *text = doc.chars().collect();
    format!("nested {depth} deep")
}

/// A `msg` of 95 to 105 units: ASCII, CJK, emoji, combining sequences, spaces.
fn msg_around_the_limit(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let n = rng.range(95, 105);
    let unit = rng.pick(&["x", "弹", "😀", "e\u{301}", " "]);
    let doc = format!(r#"{{"msg":"{}"}}"#, unit.repeat(n));
    *text = doc.chars().collect();
    format!("msg of {n} × {unit:?}")
}

/// A field inserted first in the object: a duplicate or ill-typed `msg`, odd values, odd
/// numbers (RFC 8259 §6), or a field without a value.
fn insert_field(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let fields = [
        r#","msg":5"#,
        r#","msg":"dup""#,
        r##","color":"#FFFFFF""##,
        r#","color":null"#,
        r#","size":"small""#,
        r#","mode":"TOP""#,
        r#","x":1e999"#,
        r#","n":-0.0e-0"#,
        r#","n":01"#,
        r#","s":"\uD83D\uDE00""#,
        r#","big":"#,
    ];
    let field = rng.pick(&fields);
    let at = text.iter().position(|&c| c == '{').map_or(0, |p| p + 1);
    let tail: Vec<char> = text.split_off(at);
    let mut field_chars: Vec<char> = field.trim_start_matches(',').chars().collect();
    if tail.first().is_some_and(|&c| c != '}') {
        field_chars.push(',');
    }
    text.extend(field_chars);
    text.extend(tail);
    format!("field {field}")
}

/// JSON white space (RFC 8259 §2) and white space JSON does not allow (U+00A0, U+3000).
fn insert_white_space(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let n = rng.range(1, 30);
    let ws: Vec<char> = (0..n).map(|_| *rng.pick(&[' ', '\t', '\n', '\r', '\u{a0}', '\u{3000}'])).collect();
    let at = rng.below(text.len() + 1);
    text.splice(at..at, ws);
    format!("{n} white space chars at {at}")
}
