//! Incremental UTF-8 validation for text messages that arrive in pieces (RFC 6455 §8.1).
//!
//! §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte
//! stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket
//! Connection_." A text message can be split across frames, and a frame across reads, at
//! any byte, even inside a character. [`Utf8Validator`] carries the (at most 3) bytes of an
//! unfinished character from one piece to the next, and reports an error as soon as a
//! byte can no longer be part of valid UTF-8, without waiting for the message to end.

/// Validates a stream of UTF-8 fed in arbitrary pieces.
#[derive(Debug, Default, Clone)]
pub struct Utf8Validator {
    /// The start of a character that the last piece ended inside.
    partial: [u8; 4],
    partial_len: u8,
}

/// The stream is not UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8;

/// How long the character that starts with `lead` is (only called with valid lead bytes).
fn char_width(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        _ => 2,
    }
}

impl Utf8Validator {
    pub fn new() -> Self {
        Self::default()
    }

    /// Checks the next piece. Fails as soon as the bytes seen so far cannot begin valid
    /// UTF-8 (std's validator checks each byte's allowed range, so `ED A0` and `F4 90` fail
    /// at their second byte).
    pub fn feed(&mut self, mut input: &[u8]) -> Result<(), InvalidUtf8> {
        if self.partial_len > 0 {
            let have = usize::from(self.partial_len);
            // `partial[0]` is the lead byte kept below (a valid one: from_utf8 reported an
            // incomplete character, not an error), and its width > `have`: no underflow.
            let need = char_width(self.partial[0]) - have;
            let take = need.min(input.len());
            // have ≤ 3 and have + take ≤ the character's width ≤ 4 = partial.len(); take ≤
            // input.len(), so `input[..take]` here and `input[take..]` below are in bounds.
            self.partial[have..have + take].copy_from_slice(&input[..take]);
            let len = have + take;
            match std::str::from_utf8(&self.partial[..len]) {
                Ok(_) => self.partial_len = 0,
                // Still a valid prefix: `input` ran out before the character did.
                Err(e) if e.error_len().is_none() => {
                    self.partial_len = len as u8;
                    return Ok(());
                }
                Err(_) => return Err(InvalidUtf8),
            }
            input = &input[take..];
        }
        match std::str::from_utf8(input) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_none() => {
                // The piece ends inside a character whose bytes so far are valid.
                // `valid_up_to` ≤ `input.len()`; an incomplete character is at most 3 bytes,
                // so `tail` fits in `partial` (4 bytes).
                let tail = &input[e.valid_up_to()..];
                self.partial[..tail.len()].copy_from_slice(tail);
                self.partial_len = tail.len() as u8;
                Ok(())
            }
            Err(_) => Err(InvalidUtf8),
        }
    }

    /// Checks that the stream did not stop inside a character (call at the message's end).
    pub fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let complete = self.partial_len == 0;
        self.partial_len = 0;
        if complete { Ok(()) } else { Err(InvalidUtf8) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validate_in_pieces(bytes: &[u8], piece: usize) -> Result<(), InvalidUtf8> {
        let mut v = Utf8Validator::new();
        for chunk in bytes.chunks(piece.max(1)) {
            v.feed(chunk)?;
        }
        v.finish()
    }

    const CASES: &[&[u8]] = &[
        b"",
        b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
        "κόσμε 弹幕 😀 \u{10FFFF} \u{FFFF} \u{E000}".as_bytes(),
        b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited", // surrogate
        b"\xf4\x90\x80\x80",                                               // above U+10FFFF
        b"\xc0\xaf",                                                       // overlong '/'
        b"\xe0\x80\xaf",                                                   // overlong
        b"\xf0\x80\x80\xaf",                                               // overlong
        b"\x80",                                                           // lone continuation
        b"\xc3",                                                           // truncated at the end
        b"\xe2\x82",                                                       // truncated at the end
        b"\xfe\xff",                                                       // never valid
        b"a\xf0\x9f\x98\x80b\xf0\x9f\x98",                                 // emoji then truncated emoji
        b"\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbd",                           // edges around the surrogates
    ];

    #[test]
    fn agrees_with_std_at_every_piece_size_and_split() {
        for case in CASES {
            let expected = std::str::from_utf8(case).is_ok();
            for piece in 1..=case.len().max(1) {
                assert_eq!(validate_in_pieces(case, piece).is_ok(), expected, "{case:x?} in pieces of {piece}");
            }
            for split in 0..=case.len() {
                let mut v = Utf8Validator::new();
                let result = v.feed(&case[..split]).and_then(|()| v.feed(&case[split..])).and_then(|()| v.finish());
                assert_eq!(result.is_ok(), expected, "{case:x?} split at {split}");
            }
        }
    }

    #[test]
    fn fails_fast_before_the_message_ends() {
        // Autobahn 6.4.*: the error must be seen at the first impossible byte.
        let mut v = Utf8Validator::new();
        assert!(v.feed(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5").is_ok());
        assert_eq!(v.feed(b"\xf4"), Ok(()));
        assert_eq!(v.feed(b"\x90"), Err(InvalidUtf8));
        let mut v = Utf8Validator::new();
        assert_eq!(v.feed(b"\xed"), Ok(()));
        assert_eq!(v.feed(b"\xa0"), Err(InvalidUtf8));
    }

    #[test]
    fn exhaustive_two_byte_sequences_agree_with_std() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                let bytes = [a, b];
                let mut v = Utf8Validator::new();
                let ok = v.feed(&bytes[..1]).and_then(|()| v.feed(&bytes[1..])).and_then(|()| v.finish()).is_ok();
                assert_eq!(ok, std::str::from_utf8(&bytes).is_ok(), "{bytes:x?}");
            }
        }
    }
}
