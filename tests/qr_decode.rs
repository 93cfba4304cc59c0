//! The QR encoder (`wire::qr`) against independent software:
//! - `zbarimg` (Debian package zbar-tools) must decode our symbols back to the exact input;
//! - `qrencode` (Debian package qrencode, libqrencode 4.1) must produce the same symbol,
//!   module for module, for the same data, level and mask, in every version at every level,
//!   and choose the same version and (for the penalty rules of ISO/IEC 18004 7.8.3.1) the
//!   same mask.
//!
//! Both tools are required: a missing one fails the test with the package to install.

use std::io::{ErrorKind, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use danmaku_wall::wire::qr::{Ecc, QrCode, encode, encode_with_mask};

const LEVELS: [(Ecc, &str); 4] = [(Ecc::L, "L"), (Ecc::M, "M"), (Ecc::Q, "Q"), (Ecc::H, "H")];

/// Runs `program` with `args` and `stdin`, failing with an install hint if it is missing.
fn run(program: &str, package: &str, args: &[&str], stdin: &[u8]) -> Output {
    let spawned =
        Command::new(program).args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!(
                "`{program}` not found: install the Debian package {package} (apt-get install -y {package}); tests/run_all.sh installs it"
            )
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    };
    child.stdin.take().expect("piped stdin").write_all(stdin).expect("write stdin");
    child.wait_with_output().expect("wait for child")
}

/// A scratch directory for this test, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("danmaku-qr-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Decodes `code` with zbarimg from a PGM at 4 pixels per module (quiet zone included).
fn zbar_decode(code: &QrCode, dir: &TempDir, name: &str) -> Vec<u8> {
    let path = dir.0.join(format!("{name}.pgm"));
    std::fs::write(&path, code.to_pgm(4)).expect("write PGM");
    let out = run("zbarimg", "zbar-tools", &["--raw", "-q", path.to_str().expect("UTF-8 path")], b"");
    assert!(out.status.success(), "zbarimg could not decode {name}: {:?}", String::from_utf8_lossy(&out.stderr));
    let mut text = out.stdout;
    // zbarimg ends its output with one newline.
    if text.last() == Some(&b'\n') {
        text.pop();
    }
    text
}

#[test]
fn zbarimg_decodes_wall_urls() {
    let dir = TempDir::new("zbar");
    let long = format!(
        "https://danmaku-wall.public-events.example.org/post?room={}&lang=en&utm_source=projector",
        "spring-festival-2025-main-stage-hall-b-live-comments-".repeat(2)
    );
    assert!((190..=210).contains(&long.len()), "{}", long.len());
    let urls = [
        "https://wall.example.org/post?room=main".to_string(),
        format!("https://wall.example.org/post?room={}", "abcdefghijklmnopqrstuvwxyz012345"),
        long.clone(),
        format!("https://wall.example.org/post?room={}", "r".repeat(265)),
    ];
    for (i, url) in urls.iter().enumerate() {
        for (ecc, name) in LEVELS {
            let code = encode(url.as_bytes(), ecc).expect("URL fits");
            let decoded = zbar_decode(&code, &dir, &format!("url{i}-{name}"));
            assert_eq!(String::from_utf8_lossy(&decoded), *url, "url {i} at {name}, version {}", code.version());
        }
    }
}

/// qrencode's symbol for `data` in 8-bit mode at `level`, as rows of modules (no margin).
fn qrencode(data: &[u8], level: &str) -> Vec<Vec<bool>> {
    let out = run("qrencode", "qrencode", &["-l", level, "-8", "-m", "0", "-t", "ASCII", "-o", "-"], data);
    assert!(out.status.success(), "qrencode failed: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("ASCII output");
    // Each module is two characters: "##" dark, "  " light.
    text.lines().map(|line| line.as_bytes().chunks(2).map(|c| c[0] == b'#').collect()).collect()
}

/// The level bits and mask read from a symbol's second format information copy (7.9.1).
fn format_of(rows: &[Vec<bool>]) -> (u32, u8) {
    let n = rows.len();
    let bit = |dark: bool, i: usize| u32::from(dark) << i;
    let bits = (0..8).map(|i| bit(rows[8][n - 1 - i], i)).sum::<u32>()
        + (8..15).map(|i| bit(rows[n - 15 + i][8], i)).sum::<u32>();
    let info = bits ^ 0x5412;
    (info >> 13, (info >> 10 & 7) as u8)
}

fn same_modules(ours: &QrCode, theirs: &[Vec<bool>]) -> bool {
    theirs.len() == ours.size()
        && theirs
            .iter()
            .enumerate()
            .all(|(y, row)| row.len() == ours.size() && row.iter().enumerate().all(|(x, &d)| ours.is_dark(x, y) == d))
}

/// Deterministic URL-like test data of `len` bytes.
fn data(len: usize, seed: usize) -> Vec<u8> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789/.:?=&-_%ABCXYZ";
    (0..len).map(|i| ALPHABET[(i * 31 + seed * 17 + i * i / 7) % ALPHABET.len()]).collect()
}

/// Every version at every level, module for module with qrencode's mask forced on ours; and
/// the same version, and the same mask chosen, throughout.
#[test]
fn same_symbols_as_qrencode_in_every_version_and_level() {
    for (ecc, level) in LEVELS {
        let mut versions_seen = [false; 41];
        let mut len = 1; // qrencode refuses empty input
        while let Ok(ours) = encode_with_mask(&data(len, len), ecc, 0) {
            let theirs = qrencode(&data(len, len), level);
            assert_eq!(theirs.len(), ours.size(), "{level}, {len} bytes: version differs");
            let (level_bits, mask) = format_of(&theirs);
            assert_eq!(level_bits, [1, 0, 3, 2][ecc as usize], "{level}: qrencode's format level bits");
            let forced = encode_with_mask(&data(len, len), ecc, mask).expect("fits");
            assert!(same_modules(&forced, &theirs), "{level}, {len} bytes, version {}, mask {mask}", forced.version());
            versions_seen[usize::from(ours.version())] = true;
            len += (len / 50).max(1);
        }
        let missed: Vec<usize> = (1..=40).filter(|&v| !versions_seen[v]).collect();
        assert!(missed.is_empty(), "{level}: versions {missed:?} not compared");
    }
}

/// The mask chosen by the penalty rules (7.8.3.1) is qrencode's on wall URLs and other data.
#[test]
fn same_mask_choice_as_qrencode() {
    let mut inputs: Vec<Vec<u8>> = (0..60).map(|i| data(i * 11 % 400 + 1, i)).collect();
    inputs.extend(
        ["main", "lobby", "abcdefghijklmnopqrstuvwxyz012345", "x"]
            .iter()
            .map(|room| format!("https://wall.example.org/post?room={room}").into_bytes()),
    );
    for input in &inputs {
        for (ecc, level) in LEVELS {
            let theirs = qrencode(input, level);
            let ours = encode(input, ecc).expect("fits");
            assert_eq!(format_of(&theirs).1, ours.mask(), "{level}, {} bytes", input.len());
            assert!(same_modules(&ours, &theirs), "{level}, {} bytes", input.len());
        }
    }
}

/// One byte over version 40's capacity is refused by both.
#[test]
fn same_limit_as_qrencode() {
    for ((ecc, level), max) in LEVELS.into_iter().zip([2953, 2331, 1663, 1273]) {
        assert!(encode(&data(max, 1), ecc).is_ok());
        assert!(encode(&data(max + 1, 1), ecc).is_err());
        let out = run("qrencode", "qrencode", &["-l", level, "-8", "-t", "ASCII", "-o", "-"], &data(max + 1, 1));
        assert!(!out.status.success(), "{level}: qrencode accepted {} bytes", max + 1);
        assert_eq!(qrencode(&data(max, 1), level).len(), 177);
    }
}
