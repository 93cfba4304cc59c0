//! HTTP/1.1 against the real binary: pages, content types, validators, HEAD, keep-alive,
//! pipelining, errors and limits, path traversal, `--www`, timeouts and `--max-connections`.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::{HttpClient, Server, TempDir, get, http};

fn req(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n").into_bytes()
}

fn assert_html(r: &common::Response, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    let ct = r.header("content-type").unwrap_or_default().to_ascii_lowercase();
    assert!(ct.starts_with("text/html"), "{what}: Content-Type {ct}");
    assert_eq!(r.content_length(), Some(r.body.len()), "{what}: Content-Length");
    let body = r.body_str().to_ascii_lowercase();
    assert!(body.contains("<html") || body.contains("<!doctype html"), "{what}: not HTML: {body:.200}");
    assert!(r.header("etag").is_some(), "{what}: no ETag");
}

#[test]
fn pages_are_served_as_html() {
    let server = Server::start(&[]);
    for path in ["/", "/post", "/wall", "/index.html", "/post.html", "/wall.html"] {
        assert_html(&get(server.addr(), path), path);
    }
    // The routes serve the files they name.
    assert_eq!(get(server.addr(), "/").body, get(server.addr(), "/index.html").body);
    assert_eq!(get(server.addr(), "/post").body, get(server.addr(), "/post.html").body);
    assert_eq!(get(server.addr(), "/wall").body, get(server.addr(), "/wall.html").body);
    assert_ne!(get(server.addr(), "/post").body, get(server.addr(), "/wall").body);
    // A query string does not change the page.
    assert_eq!(get(server.addr(), "/wall?room=x").body, get(server.addr(), "/wall").body);
}

/// Local links (`href="/…"`, `src="/…"`) of a page, without query strings.
fn local_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attr in ["href=\"", "src=\""] {
        let mut rest = html;
        while let Some(pos) = rest.find(attr) {
            rest = &rest[pos + attr.len()..];
            let Some(end) = rest.find('"') else { break };
            let link = rest[..end].split(['?', '#']).next().unwrap_or("");
            if link.starts_with('/') && !link.starts_with("//") && link.contains('.') {
                links.push(link.to_string());
            }
            rest = &rest[end..];
        }
    }
    links
}

#[test]
fn assets_have_the_right_content_type() {
    let server = Server::start(&[]);
    let mut links = Vec::new();
    for page in ["/", "/post", "/wall"] {
        links.extend(local_links(&get(server.addr(), page).body_str()));
    }
    links.sort();
    links.dedup();
    let (mut css, mut js) = (0, 0);
    for link in &links {
        let expected = match link.rsplit('.').next().unwrap() {
            "css" => {
                css += 1;
                "text/css"
            }
            "js" | "mjs" => {
                js += 1;
                "text/javascript"
            }
            "svg" => "image/svg+xml",
            "html" => "text/html",
            _ => continue,
        };
        let r = get(server.addr(), link);
        assert_eq!(r.status, 200, "{link}");
        let ct = r.header("content-type").unwrap_or_default().to_ascii_lowercase();
        let ok =
            ct.starts_with(expected) || (expected == "text/javascript" && ct.starts_with("application/javascript"));
        assert!(ok, "{link}: Content-Type {ct}, expected {expected}");
        assert!(!r.body.is_empty(), "{link}: empty body");
        assert!(r.header("etag").is_some(), "{link}: no ETag");
    }
    assert!(css >= 1 && js >= 1, "the pages link no CSS or JS: {links:?}");
}

#[test]
fn etag_and_if_none_match() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let first = get(addr, "/");
    let etag = first.header("etag").expect("ETag").to_string();
    assert!(etag.starts_with('"') || etag.starts_with("W/\""), "ETag {etag} not quoted");
    assert_eq!(get(addr, "/").header("etag"), Some(etag.as_str()), "ETag must be stable");
    let bare = etag.trim_start_matches("W/");
    let weak = format!("W/{bare}");
    let list = format!("\"nope\", {etag} , \"other\"");
    for inm in [etag.as_str(), list.as_str(), weak.as_str(), "*"] {
        let r = http(addr, &req(addr, "GET", "/", &format!("If-None-Match: {inm}\r\nConnection: close\r\n")));
        assert_eq!(r.status, 304, "If-None-Match: {inm}");
        assert!(r.body.is_empty() && r.extra.is_empty(), "304 with a body: {:?}", r.extra);
        assert_eq!(r.header("etag"), Some(etag.as_str()), "304 carries the ETag");
    }
    // HEAD too.
    let r = http(addr, &req(addr, "HEAD", "/", &format!("If-None-Match: {etag}\r\nConnection: close\r\n")));
    assert_eq!(r.status, 304);
    // Tags that do not match give the page.
    for inm in ["\"nope\"", "W/\"nope\", \"also-not\""] {
        let r = http(addr, &req(addr, "GET", "/", &format!("If-None-Match: {inm}\r\nConnection: close\r\n")));
        assert_eq!(r.status, 200, "If-None-Match: {inm}");
        assert_eq!(r.body, first.body);
    }
    // Another file's tag does not match this one.
    let css_tag = get(addr, "/post").header("etag").unwrap().to_string();
    assert_ne!(css_tag, etag);
    let r = http(addr, &req(addr, "GET", "/", &format!("If-None-Match: {css_tag}\r\nConnection: close\r\n")));
    assert_eq!(r.status, 200);
    // A 304 on a keep-alive connection leaves it usable (no stray body bytes).
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "GET", "/", &format!("If-None-Match: {etag}\r\n")));
    assert_eq!(c.read_response(false).status, 304);
    c.send(&req(addr, "GET", "/", ""));
    let r = c.read_response(false);
    assert_eq!((r.status, r.body.len()), (200, first.body.len()));
}

#[test]
fn head_has_headers_and_no_body() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for path in ["/", "/wall"] {
        let full = get(addr, path);
        let r = http(addr, &req(addr, "HEAD", path, "Connection: close\r\n"));
        assert_eq!(r.status, 200, "HEAD {path}");
        assert_eq!(r.content_length(), Some(full.body.len()), "HEAD {path}: Content-Length of the GET body");
        assert_eq!(r.header("content-type"), full.header("content-type"));
        assert_eq!(r.header("etag"), full.header("etag"));
        assert!(r.closed && r.extra.is_empty(), "HEAD {path} sent a body: {} bytes", r.extra.len());
    }
    // HEAD then GET on one connection: the GET's response starts right after HEAD's head.
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "HEAD", "/", ""));
    let h = c.read_response(true);
    assert_eq!(h.status, 200);
    c.send(&req(addr, "GET", "/", ""));
    let g = c.read_response(false);
    assert_eq!(g.status, 200);
    assert_eq!(Some(g.body.len()), h.content_length());
}

#[test]
fn keep_alive_serves_two_requests_on_one_connection() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "GET", "/", ""));
    let a = c.read_response(false);
    assert_eq!(a.status, 200);
    assert!(!a.says_close(), "HTTP/1.1 defaults to keep-alive: {:?}", a.header("connection"));
    c.send(&req(addr, "GET", "/post", ""));
    let b = c.read_response(false);
    assert_eq!(b.status, 200);
    assert_eq!(b.body, get(addr, "/post").body);
    // HTTP/1.0 with keep-alive too.
    c.send(b"GET /wall HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    // Connection: close is honoured.
    c.send(&req(addr, "GET", "/", "Connection: close\r\n"));
    assert!(c.read_response(false).says_close());
    assert!(c.read_to_eof().is_empty());
}

#[test]
fn http10_without_keep_alive_closes() {
    let server = Server::start(&[]);
    let r = http(server.addr(), b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.closed && r.extra.is_empty());
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let post = get(addr, "/post");
    let wall = get(addr, "/wall");
    let mut batch = req(addr, "GET", "/post", "");
    batch.extend(req(addr, "GET", "/no-such-file.html", ""));
    batch.extend(req(addr, "HEAD", "/wall", ""));
    batch.extend(req(addr, "GET", "/wall", "Connection: close\r\n"));
    let mut c = HttpClient::connect(addr);
    c.send(&batch);
    let r1 = c.read_response(false);
    let r2 = c.read_response(false);
    let r3 = c.read_response(true);
    let r4 = c.read_response(false);
    assert_eq!((r1.status, &r1.body), (200, &post.body));
    assert_eq!(r2.status, 404);
    assert_eq!((r3.status, r3.content_length()), (200, Some(wall.body.len())));
    assert_eq!((r4.status, &r4.body), (200, &wall.body));
    assert!(c.read_to_eof().is_empty());
}

#[test]
fn missing_file_is_404() {
    let server = Server::start(&[]);
    for path in ["/nope.html", "/css/nope.css", "/post/", "/ws/x", "/Index.html"] {
        assert_eq!(get(server.addr(), path).status, 404, "{path}");
    }
}

#[test]
fn other_methods_are_405_with_allow() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = http(addr, &req(addr, method, "/", "Content-Length: 0\r\nConnection: close\r\n"));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // An unknown method: 405 or 501.
    let r = http(addr, &req(addr, "BREW", "/", "Connection: close\r\n"));
    assert!(matches!(r.status, 405 | 501), "BREW: {}", r.status);
    // The connection survives a 405.
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "DELETE", "/", ""));
    assert_eq!(c.read_response(false).status, 405);
    c.send(&req(addr, "GET", "/", ""));
    assert_eq!(c.read_response(false).status, 200);
}

#[test]
fn malformed_requests_are_400() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let host = format!("Host: {addr}\r\n");
    for raw in [
        "GARBAGE\r\n\r\n".to_string(),
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_string(),
        "GET / FTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        "GET /\r\nHost: x\r\n\r\n".to_string(),
        format!("GET / HTTP/1.1\r\n{host}No colon here\r\n\r\n"),
        format!("GET / HTTP/1.1\r\n{host}Bad Name: x\r\n\r\n"),
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_string(),
        format!("GET / HTTP/1.1\r\n{host}Content-Length: abc\r\n\r\n"),
        format!("GET / HTTP/1.1\r\n{host}Content-Length: 0\r\nContent-Length: 0\r\n\r\n"),
    ] {
        let r = http(addr, raw.as_bytes());
        assert_eq!(r.status, 400, "{raw:?}");
        assert!(r.closed, "{raw:?}: connection stays open after a 400");
    }
}

#[test]
fn http11_without_host_is_400() {
    let server = Server::start(&[]);
    let r = http(server.addr(), b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 400);
    // HTTP/1.0 needs no Host.
    assert_eq!(http(server.addr(), b"GET / HTTP/1.0\r\n\r\n").status, 200);
}

#[test]
fn a_request_body_is_refused_and_the_connection_closes() {
    let server = Server::start(&[]);
    let addr = server.addr();
    // The body looks like a second request: it must never be answered (no smuggling).
    let smuggled = format!("GET /post HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    for (method, framing, body) in [
        ("POST", format!("Content-Length: {}\r\n", smuggled.len()), smuggled.clone()),
        ("GET", format!("Content-Length: {}\r\n", smuggled.len()), smuggled.clone()),
        (
            "POST",
            "Transfer-Encoding: chunked\r\n".to_string(),
            format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len()),
        ),
        ("GET", "Transfer-Encoding: chunked\r\n".to_string(), "0\r\n\r\n".to_string()),
    ] {
        let mut raw = req(addr, method, "/", &framing);
        raw.extend_from_slice(body.as_bytes());
        let mut c = HttpClient::connect(addr);
        c.send(&raw);
        let r = c.read_response(false);
        assert!(matches!(r.status, 400 | 413), "{method} with {framing:?}: {}", r.status);
        let rest = c.read_to_eof();
        assert!(
            rest.is_empty(),
            "{method} with {framing:?}: more after the refusal: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// A head of exactly `total` bytes: request line, Host, one filler header, final CRLF.
fn head_of_size(addr: SocketAddr, total: usize) -> Vec<u8> {
    let start = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Fill: ");
    let end = "\r\n\r\n";
    let fill = total - start.len() - end.len();
    let head = format!("{start}{}{end}", "a".repeat(fill));
    assert_eq!(head.len(), total);
    head.into_bytes()
}

#[test]
fn head_over_8192_bytes_is_431() {
    let server = Server::start(&[]);
    let addr = server.addr();
    assert_eq!(http(addr, &head_of_size(addr, 8192)).status, 200, "a head of exactly 8192 bytes is fine");
    let r = http(addr, &head_of_size(addr, 8193));
    assert_eq!(r.status, 431);
    assert!(r.closed);
    // Far over the limit, sent while the server answers.
    let r = http(addr, &head_of_size(addr, 100_000));
    assert_eq!(r.status, 431);
}

fn with_headers(addr: SocketAddr, count: usize) -> Vec<u8> {
    // Host and Connection count among them.
    let mut head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for i in 0..count - 2 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

#[test]
fn more_than_64_headers_is_431() {
    let server = Server::start(&[]);
    let addr = server.addr();
    assert_eq!(http(addr, &with_headers(addr, 64)).status, 200, "64 headers are fine");
    let r = http(addr, &with_headers(addr, 65));
    assert_eq!(r.status, 431);
    assert!(r.closed);
}

#[test]
fn over_long_request_line_is_414() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let raw = format!("GET /{} HTTP/1.1\r\nHost: {addr}\r\n\r\n", "a".repeat(9000));
    let r = http(addr, raw.as_bytes());
    assert_eq!(r.status, 414);
    assert!(r.closed);
    // A long but acceptable target is just a 404.
    let raw = format!("GET /{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", "a".repeat(4000));
    assert_eq!(http(addr, raw.as_bytes()).status, 404);
}

/// Text that would show a file from outside the pages folder was served.
fn assert_no_leak(r: &common::Response, what: &str) {
    let body = r.body_str();
    for marker in ["[package]", "[dependencies]", "fn main", "root:", "danmaku_wall::"] {
        assert!(!body.contains(marker), "{what}: leaked content ({marker}): {body:.300}");
    }
}

#[test]
fn traversal_attempts_are_404_and_never_leak() {
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
#[test]
fn absolute_form_traversal_is_404_and_never_leaks() {
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

#[test]
fn www_folder_is_served_and_symlinks_out_are_404() {
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

/// The bytes a slow head gets back: a whole 408 response, or nothing (then EOF).
fn assert_408_or_nothing(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        bytes.is_empty() || (text.starts_with("HTTP/1.1 408 ") && text.contains("\r\n\r\n")),
        "{what}: unexpected answer: {text:?}"
    );
}

#[test]
fn request_timeout_closes_a_partial_head() {
    let server = Server::start(&["--request-timeout", "1"]);
    let addr = server.addr();
    let start = Instant::now();
    let mut slow = HttpClient::connect(addr);
    slow.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes());
    // Another connection is served meanwhile.
    thread::sleep(Duration::from_millis(200));
    let r = get(addr, "/");
    assert_eq!(r.status, 200);
    // A connection that sends nothing at all is closed too, and so is one that sent a byte.
    let mut silent = HttpClient::connect(addr);
    let mut one_byte = HttpClient::connect(addr);
    one_byte.send(b"G");
    let rest = slow.read_to_eof();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(800) && elapsed <= Duration::from_secs(3), "closed after {elapsed:?}");
    assert_408_or_nothing(&rest, "partial head");
    assert_408_or_nothing(&silent.read_to_eof(), "silent");
    assert_408_or_nothing(&one_byte.read_to_eof(), "one byte");
    // Dribbling bytes does not extend the deadline.
    let start = Instant::now();
    let mut dribbler = HttpClient::connect(addr);
    dribbler.send(b"GET / HTTP/1.1\r\n");
    loop {
        let _ = dribbler.stream.write_all(b"X-A: b\r\n");
        if dribbler.eof_within(Duration::from_millis(200)).is_some() {
            break;
        }
        assert!(start.elapsed() <= Duration::from_secs(3), "a dribbled head outlived --request-timeout");
    }
    assert!(start.elapsed() >= Duration::from_millis(800), "closed after {:?}", start.elapsed());
}

#[test]
fn keepalive_timeout_closes_an_idle_connection() {
    let server = Server::start(&["--keepalive-timeout", "1"]);
    let addr = server.addr();
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "GET", "/", ""));
    assert_eq!(c.read_response(false).status, 200);
    let idle_since = Instant::now();
    let rest = c.read_to_eof();
    let elapsed = idle_since.elapsed();
    assert!(rest.is_empty(), "sent after the response: {:?}", String::from_utf8_lossy(&rest));
    assert!(elapsed >= Duration::from_millis(800) && elapsed <= Duration::from_secs(3), "closed after {elapsed:?}");
}
