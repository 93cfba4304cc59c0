//! The word blocklist (`--blocklist FILE`): one word or phrase per line, matched without
//! regard to case. A phrase that starts or ends with a letter or digit of ASCII only matches
//! on a word boundary there ("ass" does not block "class"); scripts without spaces between
//! words (Chinese, Japanese) match anywhere.
//!
//! Admins edit it live (the contract's `{"type":"blocklist","add":[...],"remove":[...]}`);
//! [`Blocklist::to_file_text`] is what the file is rewritten with, so the edit survives a
//! restart (comments of a hand-written file are not kept).

/// Bounds on live edits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EditLimits {
    /// Phrases in the list after an edit.
    pub max_phrases: usize,
    /// Characters in one phrase (a danmaku holds at most 100, so a longer phrase never matches).
    pub max_chars: usize,
}

impl Default for EditLimits {
    fn default() -> Self {
        EditLimits { max_phrases: 10_000, max_chars: 100 }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Blocklist {
    /// Lower-cased phrases.
    phrases: Vec<String>,
}

impl Blocklist {
    /// Reads the list: one phrase per line; blank lines and lines starting with `#` are
    /// skipped, surrounding white space is trimmed.
    pub fn parse(text: &str) -> Blocklist {
        let phrases = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect();
        Blocklist { phrases }
    }

    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The phrases, lower-cased, in the order they were added.
    pub fn phrases(&self) -> impl Iterator<Item = &str> {
        self.phrases.iter().map(String::as_str)
    }

    /// Removes every phrase of `remove`, then adds every phrase of `add` (trimmed, matched and
    /// stored lower-cased; one already there is not added twice). All or nothing: a phrase
    /// that is empty, too long, holds a control character or starts with `#` (a comment in
    /// the file), or a list that would grow past the limit, is an error and changes nothing.
    pub fn edit(&mut self, add: &[String], remove: &[String], limits: EditLimits) -> Result<(), String> {
        let add = add.iter().map(|p| checked_phrase(p, limits)).collect::<Result<Vec<_>, _>>()?;
        let remove: Vec<String> = remove.iter().map(|p| p.trim().to_lowercase()).collect();
        let mut phrases: Vec<String> = self.phrases.iter().filter(|p| !remove.contains(p)).cloned().collect();
        for phrase in add {
            if !phrases.contains(&phrase) {
                phrases.push(phrase);
            }
        }
        if phrases.len() > limits.max_phrases {
            return Err(format!("the blocklist would hold {} phrases, at most {}", phrases.len(), limits.max_phrases));
        }
        self.phrases = phrases;
        Ok(())
    }

    /// The list as a file [`Blocklist::parse`] reads back to the same list.
    pub fn to_file_text(&self) -> String {
        let mut out = String::from("# danmaku-wall blocklist: one word or phrase per line, case-insensitive.\n");
        out.push_str("# Rewritten by the server when an admin edits the list.\n");
        for phrase in &self.phrases {
            out.push_str(phrase);
            out.push('\n');
        }
        out
    }

    /// The first blocked phrase `text` contains, if any.
    pub fn find(&self, text: &str) -> Option<&str> {
        if self.phrases.is_empty() {
            return None;
        }
        let lower = text.to_lowercase();
        self.phrases.iter().find(|p| contains_phrase(&lower, p)).map(String::as_str)
    }
}

/// A phrase an admin adds, trimmed and lower-cased, or why it cannot be one.
fn checked_phrase(phrase: &str, limits: EditLimits) -> Result<String, String> {
    let phrase = phrase.trim();
    let chars = phrase.chars().count();
    if phrase.is_empty() {
        return Err("a blocklist phrase must not be empty".to_string());
    }
    if chars > limits.max_chars {
        return Err(format!("a blocklist phrase is too long: {chars} characters, at most {}", limits.max_chars));
    }
    if phrase.chars().any(char::is_control) {
        return Err("a blocklist phrase must not contain control characters".to_string());
    }
    if phrase.starts_with('#') {
        return Err("a blocklist phrase must not start with '#' (it would be a comment in the file)".to_string());
    }
    Ok(phrase.to_lowercase())
}

fn contains_phrase(haystack: &str, phrase: &str) -> bool {
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    let needs_start = is_word(phrase.chars().next());
    let needs_end = is_word(phrase.chars().next_back());
    haystack.match_indices(phrase).any(|(at, _)| {
        let before = haystack[..at].chars().next_back();
        let after = haystack[at + phrase.len()..].chars().next();
        let cut_at_start = needs_start && is_word(before);
        let cut_at_end = needs_end && is_word(after);
        !cut_at_start && !cut_at_end
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_words_and_phrases_case_insensitively() {
        let list = Blocklist::parse("# comment\n\n  spam \nBad Word\n坏\nass\n");
        assert_eq!(list.len(), 4);
        assert_eq!(list.find("buy SPAM now"), Some("spam"));
        assert_eq!(list.find("a bad   word"), None, "phrases match as written");
        assert_eq!(list.find("a BAD WORD!"), Some("bad word"));
        assert_eq!(list.find("好坏"), Some("坏"));
        assert_eq!(list.find("first class"), None, "word boundaries for ASCII words");
        assert_eq!(list.find("spammer"), None);
        assert_eq!(list.find("ass."), Some("ass"));
        assert_eq!(list.find("hello"), None);
        assert_eq!(Blocklist::default().find("anything"), None);
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn live_edits_add_and_remove_case_insensitively() {
        let mut list = Blocklist::parse("spam\nbad word\n");
        list.edit(&strings(&["  Scam ", "SPAM", "坏"]), &strings(&[" BAD WORD "]), EditLimits::default()).unwrap();
        assert_eq!(list.phrases().collect::<Vec<_>>(), vec!["spam", "scam", "坏"]);
        assert_eq!(list.find("a SCAM"), Some("scam"));
        assert_eq!(list.find("a bad word"), None);
        list.edit(&[], &strings(&["not there"]), EditLimits::default()).unwrap();
        assert_eq!(list.len(), 3);
    }

    #[test]
    fn bad_phrases_change_nothing() {
        let mut list = Blocklist::parse("spam\n");
        for (phrase, why) in [
            ("   ", "must not be empty"),
            ("a\nb", "control characters"),
            ("a\u{7}", "control characters"),
            ("#tag", "must not start with '#'"),
            (&"x".repeat(101), "101 characters, at most 100"),
        ] {
            let err = list.edit(&strings(&["fine", phrase]), &strings(&["spam"]), EditLimits::default()).unwrap_err();
            assert!(err.contains(why), "{phrase:?}: {err}");
            assert_eq!(list.phrases().collect::<Vec<_>>(), vec!["spam"]);
        }
        list.edit(&strings(&[&"x".repeat(100)]), &[], EditLimits::default()).unwrap();
    }

    #[test]
    fn the_phrase_count_is_bounded() {
        let limits = EditLimits { max_phrases: 3, ..EditLimits::default() };
        let mut list = Blocklist::parse("a\nb\n");
        list.edit(&strings(&["c", "A"]), &[], limits).unwrap();
        let err = list.edit(&strings(&["d"]), &[], limits).unwrap_err();
        assert!(err.contains("would hold 4 phrases, at most 3"), "{err}");
        list.edit(&strings(&["d"]), &strings(&["a"]), limits).unwrap(); // removals count first
        assert_eq!(list.phrases().collect::<Vec<_>>(), vec!["b", "c", "d"]);
    }

    #[test]
    fn file_text_reads_back_to_the_same_list() {
        let mut list = Blocklist::parse("# mine\nSpam\n\n弹幕 phrase\n");
        list.edit(&strings(&["new one"]), &[], EditLimits::default()).unwrap();
        let text = list.to_file_text();
        assert!(text.ends_with("spam\n弹幕 phrase\nnew one\n"), "{text}");
        let again = Blocklist::parse(&text);
        assert_eq!(again.phrases().collect::<Vec<_>>(), list.phrases().collect::<Vec<_>>());
        assert_eq!(Blocklist::parse(&Blocklist::default().to_file_text()).len(), 0);
    }
}
