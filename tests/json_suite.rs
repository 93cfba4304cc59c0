//! Runs `wire::json::parse_bytes` over the JSONTestSuite corpus
//! (<https://github.com/nst/JSONTestSuite>, `test_parsing/`):
//! `y_` files must be accepted, `n_` files rejected, `i_` files may go either way but must not panic.
//!
//! The corpus lives outside the repository: set `JSON_TEST_SUITE_DIR`, or place it at
//! `../shared/data/JSONTestSuite/test_parsing` relative to the crate root. A missing corpus is
//! a test failure, not a skip.

use danmaku_wall::wire::json::parse_bytes;
use std::path::PathBuf;

/// Deep enough for every `y_` and `i_` file (the deepest has 500 levels).
const MAX_DEPTH: usize = 512;

fn corpus_dir() -> PathBuf {
    match std::env::var_os("JSON_TEST_SUITE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/JSONTestSuite/test_parsing"),
    }
}

#[test]
fn json_test_suite() {
    let dir = corpus_dir();
    let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| {
        panic!(
            "JSONTestSuite corpus not found at {} ({e}); set JSON_TEST_SUITE_DIR to its test_parsing directory",
            dir.display()
        )
    });
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    paths.sort();

    let (mut yes, mut no, mut either) = (0, 0, 0);
    let mut implementation_defined = Vec::new();
    let mut failures = Vec::new();
    for path in paths {
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if !name.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {name}: {e}"));
        let Ok(result) = std::panic::catch_unwind(|| parse_bytes(&bytes, MAX_DEPTH)) else {
            failures.push(format!("{name}: panicked"));
            continue;
        };
        match (name.as_bytes().first(), result) {
            (Some(b'y'), Ok(_)) => yes += 1,
            (Some(b'y'), Err(e)) => failures.push(format!("{name}: rejected ({e})")),
            (Some(b'n'), Err(_)) => no += 1,
            (Some(b'n'), Ok(v)) => failures.push(format!("{name}: accepted as {v:?}")),
            (Some(b'i'), result) => {
                either += 1;
                let verdict = match result {
                    Ok(_) => "accepted".to_string(),
                    Err(e) => format!("rejected ({e})"),
                };
                implementation_defined.push(format!("  {name}: {verdict}"));
            }
            _ => {}
        }
    }

    println!("i_ files:\n{}", implementation_defined.join("\n"));
    println!("JSONTestSuite: {yes} y_ accepted, {no} n_ rejected, {either} i_ parsed without panic");
    assert!(failures.is_empty(), "JSONTestSuite failures:\n{}", failures.join("\n"));
    assert!(yes > 0 && no > 0 && either > 0, "corpus at {} looks incomplete", dir.display());
}
