//! The pages and their assets: HTML, the right content types, ETag and If-None-Match
//! (RFC 9110 §8.8.3, §13.1.2).

use crate::common::{HttpClient, Server, get, http};
use crate::support::{assert_html, req};

pub fn pages_are_served_as_html() {
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

pub fn assets_have_the_right_content_type() {
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

pub fn etag_and_if_none_match() {
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
