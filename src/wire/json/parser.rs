//! The JSON reader itself (RFC 8259): a cursor over the input with an explicit stack of open
//! containers, so nesting costs heap (bounded by the depth limit), never call stack.

use super::{JsonError, JsonErrorKind, Value};

/// An array or object still being read. An object frame also holds the key whose value comes next.
enum Frame {
    Array(Vec<Value>),
    Object(Vec<(String, Value)>, String),
}

/// A cursor over the input. `pos` is a byte offset; whenever the parser slices `src` it is at
/// a char boundary, because it only stops in front of, or just after, an ASCII byte.
pub(super) struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    pub(super) fn new(src: &'a str) -> Self {
        Parser { src, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.src.as_bytes().get(self.pos).copied()
    }

    pub(super) fn error(&self, kind: JsonErrorKind) -> JsonError {
        JsonError { offset: self.pos, kind }
    }

    /// `kind` at the current byte, or `UnexpectedEnd` if there is none.
    fn expected(&self, kind: JsonErrorKind) -> JsonError {
        match self.peek() {
            None => self.error(JsonErrorKind::UnexpectedEnd),
            Some(_) => self.error(kind),
        }
    }

    /// The character at the current position as an error (or `UnexpectedEnd`).
    fn unexpected(&self) -> JsonError {
        let rest = self.src.get(self.pos..).unwrap_or_default();
        match rest.chars().next() {
            Some(c) => self.error(JsonErrorKind::UnexpectedChar(c)),
            None => self.error(JsonErrorKind::UnexpectedEnd),
        }
    }

    /// Consume `byte` if it is next.
    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    // RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D )
    pub(super) fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    // RFC 8259 §2 (JSON-text = ws value ws), §4 Objects, §5 Arrays.
    /// Read one value. Containers are tracked on `stack` rather than by recursion.
    pub(super) fn document(&mut self, max_depth: usize) -> Result<Value, JsonError> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            let Some(value) = self.open_or_scalar(&mut stack, max_depth)? else { continue };
            if let Some(done) = self.close_containers(&mut stack, value)? {
                return Ok(done);
            }
        }
    }

    /// Step 1: read a scalar or an empty container (`Some`), or open a container and leave
    /// it on `stack` to read its first element next (`None`).
    fn open_or_scalar(&mut self, stack: &mut Vec<Frame>, max_depth: usize) -> Result<Option<Value>, JsonError> {
        self.skip_whitespace();
        let Some(open @ (b'[' | b'{')) = self.peek() else { return self.scalar().map(Some) };
        if stack.len() >= max_depth {
            return Err(self.error(JsonErrorKind::TooDeep));
        }
        self.pos += 1;
        self.skip_whitespace();
        if open == b'[' {
            if self.eat(b']') {
                return Ok(Some(Value::Array(Vec::new())));
            }
            stack.push(Frame::Array(Vec::new()));
        } else {
            if self.eat(b'}') {
                return Ok(Some(Value::Object(Vec::new())));
            }
            let key = self.member_key()?;
            stack.push(Frame::Object(Vec::new(), key));
        }
        Ok(None)
    }

    /// Step 2: give `value` to the innermost open container. If that container ends here, it
    /// becomes the value for the next one out, and so on. `Some`: the whole document;
    /// `None`: a `,` was read and the next element comes next.
    fn close_containers(&mut self, stack: &mut Vec<Frame>, mut value: Value) -> Result<Option<Value>, JsonError> {
        loop {
            let Some(frame) = stack.last_mut() else { return Ok(Some(value)) };
            self.skip_whitespace();
            let finished = match frame {
                Frame::Array(items) => {
                    items.push(value);
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            return Ok(None);
                        }
                        Some(b']') => Value::Array(std::mem::take(items)),
                        _ => return Err(self.expected(JsonErrorKind::ExpectedCommaOrBracket)),
                    }
                }
                Frame::Object(members, key) => {
                    members.push((std::mem::take(key), value));
                    match self.peek() {
                        Some(b',') => {
                            self.pos += 1;
                            *key = self.member_key()?;
                            return Ok(None);
                        }
                        Some(b'}') => Value::Object(std::mem::take(members)),
                        _ => return Err(self.expected(JsonErrorKind::ExpectedCommaOrBrace)),
                    }
                }
            };
            self.pos += 1; // the closing bracket or brace
            stack.pop();
            value = finished;
        }
    }

    // RFC 8259 §4: member = string name-separator value
    /// Read `"key" :` and return the key.
    fn member_key(&mut self) -> Result<String, JsonError> {
        self.skip_whitespace();
        if self.peek() != Some(b'"') {
            return Err(self.expected(JsonErrorKind::ExpectedKey));
        }
        let key = self.string()?;
        self.skip_whitespace();
        if !self.eat(b':') {
            return Err(self.expected(JsonErrorKind::ExpectedColon));
        }
        Ok(key)
    }

    // RFC 8259 §3 Values: false / null / true / number / string (objects and arrays are
    // handled by `document`).
    fn scalar(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Null),
            _ => Err(self.unexpected()),
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, JsonError> {
        for &byte in word {
            if !self.eat(byte) {
                return Err(self.unexpected());
            }
        }
        Ok(value)
    }

    // RFC 8259 §6 Numbers:
    //   number = [ minus ] int [ frac ] [ exp ]
    //   int = zero / ( digit1-9 *DIGIT );  frac = "." 1*DIGIT;  exp = e [ minus / plus ] 1*DIGIT
    /// Validate the grammar, then let the standard library convert. Errors point at the
    /// number's first byte.
    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let invalid = JsonError { offset: start, kind: JsonErrorKind::InvalidNumber };
        self.eat(b'-');
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return Err(invalid),
        }
        if self.eat(b'.') && !self.skip_digits_at_least_one() {
            return Err(invalid);
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.skip_digits_at_least_one() {
                return Err(invalid);
            }
        }
        // Catch things like `01`, `1.2.3` and `12abc` here, for a clearer message than
        // "unexpected data after the value".
        if matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b"+-.".contains(&b)) {
            return Err(invalid);
        }
        // Huge exponents become ±inf and tiny ones 0.0, which is fine.
        match self.src.get(start..self.pos).map(str::parse::<f64>) {
            Some(Ok(n)) => Ok(Value::Number(n)),
            _ => Err(invalid),
        }
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn skip_digits_at_least_one(&mut self) -> bool {
        let before = self.pos;
        self.skip_digits();
        self.pos > before
    }

    // RFC 8259 §7 Strings:
    //   string = quotation-mark *char quotation-mark
    //   char = unescaped / escape ( %x22 / %x5C / %x2F / %x62 / %x66 / %x6E / %x72 / %x74 / %x75 4HEXDIG )
    //   unescaped = %x20-21 / %x23-5B / %x5D-10FFFF
    /// Read a string starting at its opening quote.
    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // opening quote
        let mut out = String::new();
        loop {
            // Copy the longest run of unescaped characters in one go.
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            // Both ends are at an ASCII byte or the end of input, so at char boundaries.
            out.push_str(self.src.get(start..self.pos).unwrap_or_default());
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => self.escape(&mut out)?,
                Some(_) => return Err(self.error(JsonErrorKind::ControlCharInString)),
                None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
            }
        }
    }

    /// Decode one escape sequence starting at its backslash. Errors point at the backslash.
    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
        let at = self.pos;
        let error = |kind| JsonError { offset: at, kind };
        self.pos += 1; // backslash
        let Some(letter) = self.peek() else {
            return Err(self.error(JsonErrorKind::UnexpectedEnd));
        };
        self.pos += 1;
        let c = match letter {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                // RFC 8259 §7: characters outside the BMP are a UTF-16 surrogate pair of
                // escapes, high (D800-DBFF) then low (DC00-DFFF). Anything else is rejected,
                // since a Rust String cannot hold a lone surrogate.
                let code = match self.hex4()? {
                    high @ 0xD800..=0xDBFF => {
                        if !(self.eat(b'\\') && self.eat(b'u')) {
                            return Err(error(JsonErrorKind::LoneSurrogate));
                        }
                        let low = self.hex4()?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return Err(error(JsonErrorKind::LoneSurrogate));
                        }
                        0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                    }
                    0xDC00..=0xDFFF => return Err(error(JsonErrorKind::LoneSurrogate)),
                    code => code,
                };
                char::from_u32(code).ok_or(error(JsonErrorKind::InvalidUnicodeEscape))?
            }
            _ => return Err(error(JsonErrorKind::InvalidEscape)),
        };
        out.push(c);
        Ok(())
    }

    /// Read the four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut code = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(b) => char::from(b).to_digit(16),
                None => return Err(self.error(JsonErrorKind::UnexpectedEnd)),
            };
            let Some(digit) = digit else {
                return Err(self.error(JsonErrorKind::InvalidUnicodeEscape));
            };
            code = code * 16 + digit;
            self.pos += 1;
        }
        Ok(code)
    }
}
