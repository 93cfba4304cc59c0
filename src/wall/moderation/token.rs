//! The admin token: its minimum length, and comparison in constant time (the contract: "Tokens
//! are compared in constant time and never logged").

/// Shortest token accepted at start-up (the contract: shorter prints why and exits 2).
pub const MIN_TOKEN_CHARS: usize = 16;

/// Checks a configured token: at least [`MIN_TOKEN_CHARS`] characters.
pub fn validate_token(token: &str) -> Result<(), String> {
    let chars = token.chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(format!("the admin token is too short: {chars} characters, at least {MIN_TOKEN_CHARS}"));
    }
    Ok(())
}

/// Whether `a` and `b` are equal, taking the same time whatever their contents: every byte
/// pair is looked at, with no early exit on the first difference.
///
/// A length mismatch returns `false` at once. That reveals only the token's length, which is
/// not secret in practice (compare fixed-length tokens, or hashes of them, to hide it too).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_only_when_every_byte_is() {
        assert!(constant_time_eq(b"", b""));
        assert!(constant_time_eq(b"0123456789abcdef", b"0123456789abcdef"));
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcdeF"), "last byte");
        assert!(!constant_time_eq(b"x123456789abcdef", b"0123456789abcdef"), "first byte");
        assert!(!constant_time_eq(b"0123456789abcdef", b"0123456789abcde"), "length");
        assert!(!constant_time_eq(b"", b"a"));
        for bit in 0..8 {
            assert!(!constant_time_eq(&[0u8], &[1u8 << bit]), "bit {bit}");
        }
    }

    #[test]
    fn tokens_of_16_characters_or_more() {
        assert!(validate_token(&"x".repeat(16)).is_ok());
        assert!(validate_token(&"弹".repeat(16)).is_ok(), "counted in characters");
        let err = validate_token(&"x".repeat(15)).unwrap_err();
        assert!(err.contains("15 characters, at least 16"), "{err}");
        assert!(validate_token("").is_err());
    }
}
