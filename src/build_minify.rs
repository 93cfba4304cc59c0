//! The build script's minifier for the embedded pages: line by line, conservative. It drops
//! whole-line `//` comments (JavaScript), `/* ... */` comments that begin a line (JavaScript,
//! CSS; code after the closing `*/` stays), `<!-- ... -->` comments that fill a line (HTML),
//! each line's indentation, and empty lines. A comment after code ([`trailing_comment`]) goes
//! only where the code before it holds no quote, backtick or slash, so no string, URL,
//! regular expression or division can be cut; a line break is kept wherever there was one,
//! so JavaScript's automatic semicolons see the same lines. It assumes what `www/` holds: no
//! multi-line template literals, no `<pre>` or `<textarea>`. The browser tests run against
//! the embedded (minified) pages.

/// What a file is, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Script,
    Style,
    Html,
}

/// The kind of page `name` is, if it is one we minify.
pub fn kind(name: &str) -> Option<Kind> {
    let ext = name.rsplit('.').next()?;
    match ext {
        "js" | "mjs" => Some(Kind::Script),
        "css" => Some(Kind::Style),
        "html" => Some(Kind::Html),
        _ => None,
    }
}

/// `text` without comments, indentation and empty lines (see the module documentation).
pub fn minify(kind: Kind, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut line = line.trim();
        if in_block {
            match line.find("*/") {
                Some(end) => (in_block, line) = (false, line[end + 2..].trim()),
                None => continue,
            }
        }
        if kind != Kind::Html && line.starts_with("/*") {
            match line[2..].find("*/") {
                Some(end) => line = line[end + 4..].trim(),
                None => (in_block, line) = (true, ""),
            }
        }
        let comment = match kind {
            Kind::Script => line.starts_with("//"),
            Kind::Style => false,
            Kind::Html => line.starts_with("<!--") && line.ends_with("-->"),
        };
        if !line.is_empty() && !comment {
            out.push_str(trailing_comment(kind, line).map_or(line, |at| line[..at].trim_end()));
            out.push('\n');
        }
    }
    out
}

/// Where a comment that follows code on `line` begins, if it can be cut safely: a ` // `
/// (script) or a final `/* ... */` (style) after code with no `'`, `"`, `` ` `` or `/`.
pub fn trailing_comment(kind: Kind, line: &str) -> Option<usize> {
    let at = match kind {
        Kind::Script => line.find(" // ")?,
        Kind::Style if line.ends_with("*/") => line.find(" /*")?,
        _ => return None,
    };
    let code = &line[..at];
    let plain = !code.contains(['\'', '"', '`', '/']);
    (plain && !code.trim().is_empty()).then_some(at)
}
