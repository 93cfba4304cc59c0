//! RESP2, the Redis serialization protocol: replies in, commands out (Redis documentation,
//! "Redis serialization protocol specification").
//!
//! [`parse`] reads one reply from the front of a buffer, httparse style: `Ok(None)` means
//! the buffer holds only the start of a reply, `Ok(Some((value, n)))` a whole one of `n`
//! bytes. It is iterative (an explicit stack of open arrays, never recursion) and every
//! claimed length is checked against [`RespLimits`] before anything is reserved, so a hostile
//! `$9999999999\r\n`, `*2000000000\r\n` or ten thousand nested `*1\r\n` is refused without
//! allocating by the claim and without deep recursion. RESP3 types (`HELLO 3`) are not read:
//! we never switch a connection to RESP3 (see RESP_NOTES.md).
//!
//! [`encode_command`] writes a request: "an array of bulk strings" (spec, "Sending commands
//! to a Redis server").

use std::fmt;

/// Bounds on what one reply may claim. Each is inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespLimits {
    /// Longest bulk string payload, in bytes (Redis itself caps them at 512 MB).
    pub max_bulk: usize,
    /// Most elements in one array.
    pub max_array: usize,
    /// Deepest nesting of arrays: a top-level array is depth 1.
    pub max_depth: usize,
    /// Longest line after the type byte (simple string, error, integer, length), without CRLF.
    pub max_line: usize,
}

impl Default for RespLimits {
    /// Generous for our replies (a history read is one array of at most a few thousand
    /// entries, two levels deep), small enough that a broken server cannot exhaust memory.
    fn default() -> Self {
        RespLimits { max_bulk: 16 << 20, max_array: 1 << 20, max_depth: 8, max_line: 64 << 10 }
    }
}

/// A RESP2 value (spec, "RESP protocol description": the five RESP2 types).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+OK\r\n`: a line without CR or LF.
    SimpleString(Vec<u8>),
    /// `-ERR message\r\n`: the first word is the error's kind (`ERR`, `WRONGPASS`, ...).
    Error(Vec<u8>),
    /// `:1000\r\n`: a signed 64-bit integer.
    Integer(i64),
    /// `$5\r\nhello\r\n`, binary safe; `None` is the null bulk string `$-1\r\n`.
    Bulk(Option<Vec<u8>>),
    /// `*2\r\n...`; `None` is the null array `*-1\r\n`.
    Array(Option<Vec<Value>>),
}

impl Value {
    /// The bytes of a simple or non-null bulk string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::SimpleString(s) | Value::Bulk(Some(s)) => Some(s),
            _ => None,
        }
    }

    /// The elements of a non-null array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(Some(items)) => Some(items),
            _ => None,
        }
    }

    /// An integer, or a string of decimal digits (Lua numbers come back as integers, hash
    /// fields as bulk strings).
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Integer(n) => Some(*n),
            Value::Bulk(Some(s)) | Value::SimpleString(s) => std::str::from_utf8(s).ok()?.parse().ok(),
            _ => None,
        }
    }
}

/// Why a reply was refused. Each message quotes the rule it enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespError {
    /// A reply started with a byte that is not one of `+ - : $ *`.
    UnknownType(u8),
    /// A CR not followed by LF, or an LF without a CR before it.
    BadLineEnding,
    /// A line longer than [`RespLimits::max_line`].
    LineTooLong { max: usize },
    /// `:` not followed by an optional sign and decimal digits that fit in 64 bits.
    BadInteger,
    /// A `$` or `*` length that is neither decimal digits nor `-1`.
    BadLength,
    /// A negative length other than `-1`.
    NegativeLength,
    /// A bulk string longer than [`RespLimits::max_bulk`] (`len` saturates at `u64::MAX`).
    BulkTooLong { len: u64, max: usize },
    /// An array with more elements than [`RespLimits::max_array`].
    ArrayTooLong { len: u64, max: usize },
    /// Arrays nested deeper than [`RespLimits::max_depth`].
    TooDeep { max: usize },
    /// A bulk string's data not followed by CRLF.
    BulkNotTerminated,
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::UnknownType(b) => {
                write!(f, "RESP2: the first byte of a reply is one of + - : $ * (got 0x{b:02x})")
            }
            RespError::BadLineEnding => f.write_str("RESP: every line is terminated by CRLF (\\r\\n)"),
            RespError::LineTooLong { max } => write!(f, "RESP: line longer than the limit of {max} bytes"),
            RespError::BadInteger => f.write_str("RESP \"Integers\": an optional sign then decimal digits, 64 bits"),
            RespError::BadLength => f.write_str("RESP: a $ or * length is decimal digits (or -1 for null)"),
            RespError::NegativeLength => f.write_str("RESP: the only negative length is -1 (null)"),
            RespError::BulkTooLong { len, max } => {
                write!(f, "RESP \"Bulk strings\": length {len} is over the limit of {max} bytes")
            }
            RespError::ArrayTooLong { len, max } => {
                write!(f, "RESP \"Arrays\": {len} elements is over the limit of {max}")
            }
            RespError::TooDeep { max } => write!(f, "RESP \"Arrays\": nested deeper than the limit of {max}"),
            RespError::BulkNotTerminated => f.write_str("RESP \"Bulk strings\": the data is followed by CRLF"),
        }
    }
}

impl std::error::Error for RespError {}

/// One step of the parser: a complete scalar, or the header of a non-null array.
enum Item {
    Value(Value),
    Array(usize),
}

/// Elements reserved up front for an array, whatever it claims: it grows as elements arrive.
const ARRAY_PREALLOC: usize = 16;

/// Reads one reply from the front of `buf`. `Ok(None)`: `buf` is a proper prefix of a reply
/// (read more and call again with the longer buffer); `Ok(Some((value, n)))`: the reply is
/// `buf[..n]`, the rest belongs to the next one. Errors are final: the stream is broken.
pub fn parse(buf: &[u8], limits: &RespLimits) -> Result<Option<(Value, usize)>, RespError> {
    let mut pos = 0;
    // Open arrays, innermost last: the elements read so far and how many there will be.
    let mut stack: Vec<(Vec<Value>, usize)> = Vec::new();
    loop {
        let Some((item, next)) = parse_item(buf, pos, limits)? else { return Ok(None) };
        pos = next;
        let mut value = match item {
            Item::Value(v) => v,
            Item::Array(n) => {
                if stack.len() >= limits.max_depth {
                    return Err(RespError::TooDeep { max: limits.max_depth });
                }
                if n > 0 {
                    stack.push((Vec::with_capacity(n.min(ARRAY_PREALLOC)), n));
                    continue;
                }
                Value::Array(Some(Vec::new()))
            }
        };
        // Hand the value to the innermost open array, closing every array it completes.
        loop {
            let Some((items, want)) = stack.last_mut() else { return Ok(Some((value, pos))) };
            items.push(value);
            if items.len() < *want {
                break;
            }
            let Some((items, _)) = stack.pop() else { unreachable!("stack.last_mut() was Some") };
            value = Value::Array(Some(items));
        }
    }
}

/// One type byte and what follows it, starting at `buf[pos]`.
fn parse_item(buf: &[u8], pos: usize, limits: &RespLimits) -> Result<Option<(Item, usize)>, RespError> {
    let Some(&kind) = buf.get(pos) else { return Ok(None) };
    if !matches!(kind, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(RespError::UnknownType(kind));
    }
    let Some((line, next)) = read_line(buf, pos + 1, limits.max_line)? else { return Ok(None) };
    let item = match kind {
        b'+' => Item::Value(Value::SimpleString(line.to_vec())),
        b'-' => Item::Value(Value::Error(line.to_vec())),
        b':' => Item::Value(Value::Integer(parse_integer(line)?)),
        b'*' => match parse_length(line)? {
            None => Item::Value(Value::Array(None)),
            Some(len) if len > limits.max_array as u64 => {
                return Err(RespError::ArrayTooLong { len, max: limits.max_array });
            }
            Some(len) => Item::Array(len as usize),
        },
        _ => return read_bulk(buf, line, next, limits),
    };
    Ok(Some((item, next)))
}

/// The data of a bulk string whose length line is `line` and whose data starts at `start`
/// (spec, "Bulk strings": `$<length>\r\n<data>\r\n`, "Null bulk strings": `$-1\r\n`).
fn read_bulk(buf: &[u8], line: &[u8], start: usize, limits: &RespLimits) -> Result<Option<(Item, usize)>, RespError> {
    let len = match parse_length(line)? {
        None => return Ok(Some((Item::Value(Value::Bulk(None)), start))),
        Some(len) if len > limits.max_bulk as u64 => {
            return Err(RespError::BulkTooLong { len, max: limits.max_bulk });
        }
        Some(len) => len as usize,
    };
    // `len` ≤ max_bulk (a usize), so `start + len + 2` only overflows for absurd limits.
    let Some(end) = start.checked_add(len).and_then(|e| e.checked_add(2)) else {
        return Err(RespError::BulkTooLong { len: len as u64, max: limits.max_bulk });
    };
    if buf.len() < end {
        return Ok(None);
    }
    if &buf[end - 2..end] != b"\r\n" {
        return Err(RespError::BulkNotTerminated);
    }
    Ok(Some((Item::Value(Value::Bulk(Some(buf[start..end - 2].to_vec()))), end)))
}

/// The line starting at `buf[start]` without its CRLF, and where the next item starts.
/// Simple strings and errors "cannot contain CR or LF" (spec, "Simple strings"), so a lone
/// CR or LF is an error, not data.
fn read_line(buf: &[u8], start: usize, max_line: usize) -> Result<Option<(&[u8], usize)>, RespError> {
    let window_end = buf.len().min(start.saturating_add(max_line).saturating_add(1));
    for i in start..window_end {
        match buf[i] {
            b'\r' => {
                return match buf.get(i + 1) {
                    None => Ok(None),
                    Some(b'\n') => Ok(Some((&buf[start..i], i + 2))),
                    Some(_) => Err(RespError::BadLineEnding),
                };
            }
            b'\n' => return Err(RespError::BadLineEnding),
            _ => {}
        }
    }
    // No CR among the first max_line + 1 bytes: the line is too long, or not all here yet.
    if buf.len() > start.saturating_add(max_line) { Err(RespError::LineTooLong { max: max_line }) } else { Ok(None) }
}

/// Spec, "Integers": `:[<+|->]<value>\r\n`, a signed 64-bit integer in decimal.
fn parse_integer(line: &[u8]) -> Result<i64, RespError> {
    let (negative, digits) = match line.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, line),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(RespError::BadInteger);
    }
    // Accumulate negatively so that i64::MIN fits.
    let mut n: i64 = 0;
    for &d in digits {
        n = n.checked_mul(10).and_then(|n| n.checked_sub(i64::from(d - b'0'))).ok_or(RespError::BadInteger)?;
    }
    if negative { Ok(n) } else { n.checked_neg().ok_or(RespError::BadInteger) }
}

/// A `$` or `*` length: decimal digits, or `-1` for null (spec, "Bulk strings", "Arrays").
/// Saturates at `u64::MAX`, which every limit refuses.
fn parse_length(line: &[u8]) -> Result<Option<u64>, RespError> {
    if line == b"-1" {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix(b"-") {
        let digits = !rest.is_empty() && rest.iter().all(u8::is_ascii_digit);
        return Err(if digits { RespError::NegativeLength } else { RespError::BadLength });
    }
    if line.is_empty() || !line.iter().all(u8::is_ascii_digit) {
        return Err(RespError::BadLength);
    }
    Ok(Some(line.iter().fold(0u64, |n, &d| n.saturating_mul(10).saturating_add(u64::from(d - b'0')))))
}

/// Writes a command: "a RESP Array consisting of only Bulk Strings" (spec, "Sending commands
/// to a Redis server").
pub fn encode_command(out: &mut Vec<u8>, args: &[&[u8]]) {
    write_header(out, b'*', args.len());
    for arg in args {
        write_bulk(out, arg);
    }
}

/// Writes any value, the inverse of [`parse`]. Simple strings and errors must not contain CR
/// or LF (the spec forbids it; such a value would not read back). Recursive: meant for values
/// [`parse`] produced or the program built, whose depth is bounded.
pub fn encode_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::SimpleString(s) => write_line(out, b'+', s),
        Value::Error(s) => write_line(out, b'-', s),
        Value::Integer(n) => write_line(out, b':', n.to_string().as_bytes()),
        Value::Bulk(None) => out.extend_from_slice(b"$-1\r\n"),
        Value::Bulk(Some(data)) => write_bulk(out, data),
        Value::Array(None) => out.extend_from_slice(b"*-1\r\n"),
        Value::Array(Some(items)) => {
            write_header(out, b'*', items.len());
            for item in items {
                encode_value(out, item);
            }
        }
    }
}

fn write_header(out: &mut Vec<u8>, kind: u8, len: usize) {
    write_line(out, kind, len.to_string().as_bytes());
}

fn write_line(out: &mut Vec<u8>, kind: u8, line: &[u8]) {
    out.push(kind);
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
}

fn write_bulk(out: &mut Vec<u8>, data: &[u8]) {
    write_header(out, b'$', data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
#[path = "resp_tests.rs"]
mod tests;
