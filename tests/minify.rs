//! The build script's minifier (src/build_minify.rs), which shrinks the pages embedded in the
//! binary: what it takes out, and that it never touches strings, URLs, regular expressions or
//! divisions. (The browser tests run the minified pages themselves.)

#[path = "../src/build_minify.rs"]
mod minify;

use minify::{Kind, kind, minify, trailing_comment};

#[test]
fn kinds_by_name() {
    assert_eq!(kind("js/wall.js"), Some(Kind::Script));
    assert_eq!(kind("css/site.css"), Some(Kind::Style));
    assert_eq!(kind("index.html"), Some(Kind::Html));
    assert_eq!(kind("favicon.svg"), None);
}

#[test]
fn comments_and_indentation_go() {
    let script = "// a file comment\n/**\n * Doc.\n */\nfunction f(a) {\n    return a; // why\n}\n\n/* x */ f(1);\n";
    assert_eq!(minify(Kind::Script, script), "function f(a) {\nreturn a;\n}\nf(1);\n");
    let style = "/* the wall */\nbody {\n  margin: 0; /* no scroll */\n}\n";
    assert_eq!(minify(Kind::Style, style), "body {\nmargin: 0;\n}\n");
    let html = "<!doctype html>\n  <!-- a note -->\n  <p>hi</p>\n";
    assert_eq!(minify(Kind::Html, html), "<!doctype html>\n<p>hi</p>\n");
}

#[test]
fn strings_urls_regexes_and_divisions_stay_whole() {
    for line in [
        "const url = 'https://example.org/post'; // a URL",
        "fetch(\"/ws?room=\" + room); // a string",
        "const re = /a\\/\\/b/; // a regex",
        "const half = a / 2; // a division",
        "el.textContent = `// not a comment`;",
        "const s = ' // inside a string';",
    ] {
        let out = minify(Kind::Script, line);
        let kept = trailing_comment(Kind::Script, line).is_none();
        assert!(kept, "{line}: a comment was cut after {:?}", trailing_comment(Kind::Script, line));
        assert_eq!(out, format!("{line}\n"));
    }
    assert_eq!(minify(Kind::Style, "a::after { content: '/* x */'; }"), "a::after { content: '/* x */'; }\n");
}

#[test]
fn the_real_pages_lose_comments_and_keep_every_line_of_code() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/js");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let out = minify(Kind::Script, &text);
        assert!(out.len() < text.len(), "{path:?}");
        // Every line that holds code and no comment marker survives unchanged (trimmed).
        for line in text.lines().map(str::trim) {
            if !line.is_empty() && !line.contains("//") && !line.contains("/*") && !line.starts_with('*') {
                assert!(out.lines().any(|l| l == line), "{path:?} lost: {line}");
            }
        }
    }
}
