//! Paths that would leave the pages folder (traversal, absolute form, symlinks out of
//! `--www`): a 404, never a leak.

use crate::common::{self, Server, TempDir, get, http};
use crate::support::assert_html;

/// Text that would show a file from outside the pages folder was served.
fn assert_no_leak(r: &common::Response, what: &str) {
    let body = r.body_str();
    for marker in ["[package]", "[dependencies]", "fn main", "root:", "danmaku_wall::"] {
        assert!(!body.contains(marker), "{what}: leaked content ({marker}): {body:.300}");
    }
}

pub fn traversal_attempts_are_404_and_never_leak() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for path in [
        "/../Cargo.toml",
        "/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
        "/%2E%2E/Cargo.toml",
        "/..%2fCargo.toml",
        "/..%2FCargo.toml",
        "/%2e%2e%2fsrc%2fmain.rs",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/css/../../Cargo.toml",
        "/css/%2e%2e/%2e%2e/Cargo.toml",
        "/%252e%252e/Cargo.toml",
        "/..\\Cargo.toml",
        "/css\\..\\..\\Cargo.toml",
        "/%5c..%5cCargo.toml",
        "/..%5cCargo.toml",
        "/index.html%00",
        "/%00",
        "/css/site.css%00.txt",
        "/../Cargo.toml%00.html",
        "//etc/passwd",
        "///etc/passwd",
        "/src/main.rs",
        "/Cargo.toml",
        "/./index.html/../../Cargo.toml",
        "/.git/HEAD",
        "/%",
        "/%zz",
    ] {
        let raw = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let r = http(addr, raw.as_bytes());
        assert_no_leak(&r, path);
        assert_eq!(r.status, 404, "{path}");
    }
}

/// RFC 9112 §3.2.2: "A server MUST accept the absolute-form in requests". The path it carries
/// goes through the same rules: traversal is a 404, never a leak.
pub fn absolute_form_traversal_is_404_and_never_leaks() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for target in ["http://x/../../etc/passwd", "http://x/%2e%2e/Cargo.toml", "http://127.0.0.1/../Cargo.toml"] {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        let r = http(addr, raw.as_bytes());
        assert_no_leak(&r, target);
        assert_eq!(r.status, 404, "{target}");
    }
    // And an absolute-form target naming a page is that page.
    let raw = format!("GET http://{addr}/wall HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    assert_html(&http(addr, raw.as_bytes()), "absolute-form /wall");
}

pub fn www_folder_is_served_and_symlinks_out_are_404() {
    let tmp = TempDir::new("www");
    let www = tmp.join("www");
    std::fs::create_dir_all(www.join("css")).unwrap();
    std::fs::create_dir_all(tmp.join("outside")).unwrap();
    std::fs::write(www.join("index.html"), "<!doctype html><html><body>custom index</body></html>").unwrap();
    std::fs::write(www.join("post.html"), "<!doctype html><html><body>custom post</body></html>").unwrap();
    std::fs::write(www.join("wall.html"), "<!doctype html><html><body>custom wall</body></html>").unwrap();
    std::fs::write(www.join("css/a.css"), "body { color: red }").unwrap();
    std::fs::write(tmp.join("outside/secret.txt"), "TOP SECRET root:x:0:0").unwrap();
    std::os::unix::fs::symlink(tmp.join("outside/secret.txt"), www.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink("../outside/secret.txt", www.join("rel-leak.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.join("outside"), www.join("outdir")).unwrap();
    std::fs::write(www.join("swap.txt"), "plain file").unwrap();

    let server = Server::start(&["--www", www.to_str().unwrap()]);
    let addr = server.addr();
    for (path, text) in [("/", "custom index"), ("/post", "custom post"), ("/wall", "custom wall")] {
        let r = get(addr, path);
        assert_html(&r, path);
        assert!(r.body_str().contains(text), "{path}: {}", r.body_str());
    }
    let css = get(addr, "/css/a.css");
    assert_eq!((css.status, css.body_str().as_str()), (200, "body { color: red }"));
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    // A symlink leading out is never served, however it is reached.
    for path in
        ["/leak.txt", "/rel-leak.txt", "/outdir/secret.txt", "/../outside/secret.txt", "/%2e%2e/outside/secret.txt"]
    {
        let r = get(addr, path);
        assert!(!r.body_str().contains("TOP SECRET"), "{path} leaked");
        assert_eq!(r.status, 404, "{path}");
    }
    // The embedded pages are not served from a --www folder.
    assert_eq!(get(addr, "/js/post.js").status, 404);
    // A file swapped for a symlink leading out, while the server runs, is no longer served.
    let r = get(addr, "/swap.txt");
    assert_eq!((r.status, r.body_str().as_str()), (200, "plain file"));
    std::fs::remove_file(www.join("swap.txt")).unwrap();
    std::os::unix::fs::symlink(tmp.join("outside/secret.txt"), www.join("swap.txt")).unwrap();
    let r = get(addr, "/swap.txt");
    assert!(!r.body_str().contains("TOP SECRET"), "swapped symlink leaked");
    assert_eq!(r.status, 404);
}
