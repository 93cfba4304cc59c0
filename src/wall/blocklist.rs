//! The word blocklist (`--blocklist FILE`): one word or phrase per line, matched without
//! regard to case. A phrase that starts or ends with a letter or digit of ASCII only matches
//! on a word boundary there ("ass" does not block "class"); scripts without spaces between
//! words (Chinese, Japanese) match anywhere.

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

    pub fn load(path: &std::path::Path) -> std::io::Result<Blocklist> {
        Ok(Blocklist::parse(&std::fs::read_to_string(path)?))
    }

    pub fn len(&self) -> usize {
        self.phrases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
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
}
