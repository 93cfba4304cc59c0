//! Build script: lists every file under `www/` so `src/server/pages.rs` can build them into
//! the binary with `include_bytes!`. The list is generated so that a page added to `www/` is
//! served without touching the code.
//!
//! Text pages are embedded with their comments and indentation taken out ([`minify`]): they
//! are written to be read (about a quarter of them is comments), and that quarter would be a
//! fifth of the binary's size margin. `--www DIR` serves the files as they are.

#[path = "build_minify.rs"]
mod minify;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if let Ok(rel) = path.strip_prefix(root) {
            let name = rel.to_string_lossy().replace('\\', "/");
            if !name.split('/').any(|part| part.starts_with('.')) {
                out.push((name, path.clone()));
            }
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("www");
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    collect(&root, &root, &mut files);
    let mut code = String::from(
        "/// Every file of `www/`, by its path relative to `www/`.\npub static EMBEDDED: &[(&str, &[u8])] = &[\n",
    );
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for (name, path) in files {
        println!("cargo:rerun-if-changed={}", path.display());
        let embedded = match (minify::kind(&name), std::fs::read_to_string(&path)) {
            (Some(kind), Ok(text)) => {
                let copy = out_dir.join("www-min").join(&name);
                std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
                std::fs::write(&copy, minify::minify(kind, &text)).unwrap();
                copy
            }
            _ => path,
        };
        writeln!(code, "    ({name:?}, include_bytes!({:?})),", embedded.display().to_string()).unwrap();
    }
    code.push_str("];\n");
    let out = out_dir.join("embedded_pages.rs");
    release_link_args();
    std::fs::write(out, code).unwrap();
}

/// The release server aborts on a panic (`panic = "abort"`) and is stripped, so it never
/// unwinds and its backtraces name no function: the `.eh_frame_hdr` index (~19 KB) that
/// unwinders look frames up in serves it nothing. A panic still prints its message (and
/// location). Debug builds and tests keep it: their panics unwind.
fn release_link_args() {
    if std::env::var("PROFILE").as_deref() == Ok("release") {
        println!("cargo:rustc-link-arg-bin=danmaku-wall=-Wl,--no-eh-frame-hdr");
    }
}
