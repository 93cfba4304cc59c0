//! The pages of `www/`: built into the binary, or read from a `--www` folder. MIME types,
//! ETags, and a path resolution that cannot leave the pages folder.
//!
//! Escaping the folder is made impossible rather than unlikely: a request path is never
//! joined onto a file-system path. It is decoded, checked, and looked up by name in a table
//! of the files the folder held: the embedded list made at build time, or, for `--www`, a
//! listing made by walking the folder (symlinks that lead outside it are left out). A name
//! that is not in the table is a 404, however it is spelled.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use crate::wire::http::Body;
use std::time::{Duration, Instant};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded_pages.rs"));
}

/// One file, ready to send.
#[derive(Debug, Clone)]
pub struct Page {
    pub body: Body,
    pub content_type: &'static str,
    /// A strong validator (RFC 9110 §8.8.3), quoted.
    pub etag: Rc<str>,
}

/// Where the pages come from.
pub struct Pages {
    /// Name (relative to the folder, `/`-separated) → file.
    files: HashMap<String, Source>,
    /// The `--www` folder, canonical, if serving from disk.
    root: Option<PathBuf>,
    last_scan: Instant,
}

enum Source {
    Embedded(Page),
    Disk(PathBuf),
}

impl Pages {
    /// The pages built into the binary.
    pub fn embedded() -> Pages {
        let files = embedded::EMBEDDED
            .iter()
            .map(|(name, bytes)| {
                let page = Page { body: Body::Static(bytes), content_type: content_type(name), etag: etag(bytes) };
                (name.to_string(), Source::Embedded(page))
            })
            .collect();
        Pages { files, root: None, last_scan: Instant::now() }
    }

    /// The pages of a folder on disk (`--www DIR`).
    pub fn from_dir(dir: &Path) -> std::io::Result<Pages> {
        let root = dir.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotADirectory,
                format!("{} is not a folder", dir.display()),
            ));
        }
        let mut pages = Pages { files: HashMap::new(), root: Some(root), last_scan: Instant::now() };
        pages.scan();
        Ok(pages)
    }

    /// How many files can be served.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Lists the `--www` folder: every regular file whose real path is inside it.
    fn scan(&mut self) {
        let Some(root) = self.root.clone() else { return };
        let mut files = HashMap::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for entry in entries.flatten() {
                // Resolve symlinks and keep only what stays inside the folder.
                let Ok(real) = entry.path().canonicalize() else { continue };
                if !real.starts_with(&root) || files.len() >= 10_000 {
                    continue;
                }
                if real.is_dir() {
                    if stack.len() < 1000 && real != dir {
                        stack.push(entry.path());
                    }
                } else if let Ok(rel) = entry.path().strip_prefix(&root)
                    && let Some(name) = rel.to_str()
                {
                    files.insert(name.replace(std::path::MAIN_SEPARATOR, "/"), Source::Disk(real));
                }
            }
        }
        self.files = files;
        self.last_scan = Instant::now();
    }

    /// The page for a request path (before the `?`), or `None` for a 404.
    pub fn lookup(&mut self, path: &str) -> Option<Page> {
        let name = page_name(path)?;
        if !self.files.contains_key(&name) && self.root.is_some() && self.last_scan.elapsed() > Duration::from_secs(1) {
            // A file added to the folder since the last listing; at most one scan a second.
            self.scan();
        }
        match self.files.get(&name)? {
            Source::Embedded(page) => Some(page.clone()),
            Source::Disk(real) => {
                // Checked again at read time, in case the file was swapped for a symlink.
                let root = self.root.as_ref()?;
                let now_real = real.canonicalize().ok()?;
                if !now_real.starts_with(root) {
                    return None;
                }
                let bytes: Rc<[u8]> = std::fs::read(&now_real).ok()?.into();
                Some(Page { etag: etag(&bytes), content_type: content_type(&name), body: Body::Shared(bytes) })
            }
        }
    }
}

/// Turns a request path into a page name: the three page routes, then the percent-decoded
/// path without its leading `/`. Anything that could name a parent, a hidden file, or
/// confuse a file system (`..`, `.`, empty segments, `\`, NUL, control characters) is no
/// page at all.
pub fn page_name(path: &str) -> Option<String> {
    match path {
        "/" => return Some("index.html".to_string()),
        "/post" => return Some("post.html".to_string()),
        "/wall" => return Some("wall.html".to_string()),
        "/admin" => return Some("admin.html".to_string()),
        _ => {}
    }
    let decoded = crate::wire::http::percent_decode(path.strip_prefix('/')?)?;
    let name = String::from_utf8(decoded).ok()?;
    let bad_char = |c: char| c == '\\' || c.is_control() || c == ':';
    if name.is_empty() || name.chars().any(bad_char) {
        return None;
    }
    if name.split('/').any(|seg| seg.is_empty() || seg.starts_with('.')) {
        return None;
    }
    Some(name)
}

/// The `Content-Type` for a file name, by extension.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map_or("", |(_, ext)| ext);
    match ext.to_ascii_lowercase().as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// A strong ETag from the content (64-bit FNV-1a): the same bytes always give the same tag,
/// across restarts and between the embedded and `--www` copies.
pub fn etag(bytes: &[u8]) -> Rc<str> {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("\"{hash:016x}-{:x}\"", bytes.len()).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::http::if_none_match;

    #[test]
    fn routes_and_names() {
        assert_eq!(page_name("/").as_deref(), Some("index.html"));
        assert_eq!(page_name("/post").as_deref(), Some("post.html"));
        assert_eq!(page_name("/wall").as_deref(), Some("wall.html"));
        assert_eq!(page_name("/js/wall.js").as_deref(), Some("js/wall.js"));
        assert_eq!(page_name("/css%2Fwall.css").as_deref(), Some("css/wall.css"));
        assert_eq!(page_name("/a%20b.txt").as_deref(), Some("a b.txt"));
    }

    #[test]
    fn traversal_is_no_page_at_all() {
        for path in [
            "/../etc/passwd",
            "/..",
            "/js/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/..%2f..%2fetc/passwd",
            "/..\\etc\\passwd",
            "/%5c..%5cetc",
            "/index.html%00.png",
            "/%00",
            "//etc/passwd",
            "/js//wall.js",
            "/./index.html",
            "/.git/config",
            "/%",
            "/%zz",
            "/%+f",
            "/%-1",
            "/%c0%ae%c0%ae/etc",
            "/C:/windows/win.ini",
            "",
            "etc/passwd",
        ] {
            assert_eq!(page_name(path), None, "{path}");
        }
    }

    #[test]
    fn embedded_pages_are_there() {
        let mut pages = Pages::embedded();
        for path in ["/", "/post", "/wall"] {
            let page = pages.lookup(path).unwrap_or_else(|| panic!("{path} missing"));
            assert_eq!(page.content_type, "text/html; charset=utf-8");
            assert!(!page.body.as_bytes().is_empty());
        }
        assert!(pages.lookup("/nope.html").is_none());
        assert!(pages.lookup("/../Cargo.toml").is_none());
    }

    #[test]
    fn folder_pages_never_leave_the_folder() {
        let base = std::env::temp_dir().join(format!("dw-pages-{}", std::process::id()));
        let www = base.join("www");
        std::fs::create_dir_all(www.join("sub")).unwrap();
        std::fs::write(www.join("index.html"), "<p>hi").unwrap();
        std::fs::write(www.join("sub/a.css"), "p{}").unwrap();
        std::fs::write(base.join("secret.txt"), "secret").unwrap();
        #[cfg(unix)]
        {
            let _ = std::os::unix::fs::symlink(base.join("secret.txt"), www.join("leak.txt"));
            let _ = std::os::unix::fs::symlink(&base, www.join("up"));
            let _ = std::os::unix::fs::symlink(www.join("index.html"), www.join("inside.html"));
        }
        let mut pages = Pages::from_dir(&www).unwrap();
        assert_eq!(pages.lookup("/").unwrap().body.as_bytes(), b"<p>hi");
        assert_eq!(pages.lookup("/sub/a.css").unwrap().content_type, "text/css; charset=utf-8");
        assert!(pages.lookup("/leak.txt").is_none());
        assert!(pages.lookup("/up/secret.txt").is_none());
        assert!(pages.lookup("/../secret.txt").is_none());
        #[cfg(unix)]
        assert_eq!(pages.lookup("/inside.html").unwrap().body.as_bytes(), b"<p>hi");
        let _ = std::fs::remove_dir_all(&base);
    }

    #[test]
    fn etags_and_if_none_match() {
        let tag = etag(b"hello");
        assert_eq!(tag, etag(b"hello"));
        assert_ne!(tag, etag(b"hellp"));
        assert!(if_none_match(tag.as_bytes(), &tag));
        assert!(if_none_match(b"*", &tag));
        assert!(if_none_match(format!("\"x\", W/{tag}").as_bytes(), &tag));
        assert!(if_none_match(format!(" \"a\",{tag} ").as_bytes(), &tag));
        assert!(!if_none_match(b"\"other\"", &tag));
        assert!(!if_none_match(b"", &tag));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("x.svg"), "image/svg+xml");
        assert_eq!(content_type("noext"), "application/octet-stream");
    }
}
