//! Tests of [`parse`](super::parse) and the encoders: the examples of the Redis RESP
//! specification as golden bytes, each split at every offset, and every refusal.

use super::*;

const LIMITS: RespLimits = RespLimits { max_bulk: 100, max_array: 10, max_depth: 3, max_line: 20 };

fn bulk(s: &str) -> Value {
    Value::Bulk(Some(s.as_bytes().to_vec()))
}

fn array(items: Vec<Value>) -> Value {
    Value::Array(Some(items))
}

/// Every proper prefix of `bytes` is incomplete; the whole is `expected`, all of it
/// consumed; and with a second reply after it, only the first is consumed.
fn check_golden(bytes: &[u8], expected: &Value) {
    const LIMITS: RespLimits = RespLimits { max_bulk: 100, max_array: 10, max_depth: 3, max_line: 64 };
    for cut in 0..bytes.len() {
        assert_eq!(parse(&bytes[..cut], &LIMITS), Ok(None), "prefix of {} bytes of {bytes:?}", cut);
    }
    assert_eq!(parse(bytes, &LIMITS), Ok(Some((expected.clone(), bytes.len()))), "{bytes:?}");
    let mut two = bytes.to_vec();
    two.extend_from_slice(b"+next\r\n");
    assert_eq!(parse(&two, &LIMITS), Ok(Some((expected.clone(), bytes.len()))), "{bytes:?} then more");
    let mut encoded = Vec::new();
    encode_value(&mut encoded, expected);
    assert_eq!(encoded, bytes, "encode_value of {expected:?}");
}

#[test]
fn spec_examples_split_at_every_offset() {
    let cases: Vec<(&[u8], Value)> = vec![
        (b"+OK\r\n", Value::SimpleString(b"OK".to_vec())),
        (b"-Error message\r\n", Value::Error(b"Error message".to_vec())),
        (b"-WRONGTYPE Operation against a key\r\n", Value::Error(b"WRONGTYPE Operation against a key".to_vec())),
        (b":0\r\n", Value::Integer(0)),
        (b":1000\r\n", Value::Integer(1000)),
        (b":-5\r\n", Value::Integer(-5)),
        (b"$5\r\nhello\r\n", bulk("hello")),
        (b"$0\r\n\r\n", bulk("")),
        (b"$-1\r\n", Value::Bulk(None)),
        (b"$4\r\na\r\nb\r\n", bulk("a\r\nb")),
        (b"*0\r\n", array(vec![])),
        (b"*-1\r\n", Value::Array(None)),
        (b"*2\r\n$5\r\nhello\r\n$5\r\nworld\r\n", array(vec![bulk("hello"), bulk("world")])),
        (b"*3\r\n:1\r\n:2\r\n:3\r\n", array(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)])),
        (
            b"*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n$5\r\nhello\r\n",
            array(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3), Value::Integer(4), bulk("hello")]),
        ),
        (
            b"*2\r\n*3\r\n:1\r\n:2\r\n:3\r\n*2\r\n+Hello\r\n-World\r\n",
            array(vec![
                array(vec![Value::Integer(1), Value::Integer(2), Value::Integer(3)]),
                array(vec![Value::SimpleString(b"Hello".to_vec()), Value::Error(b"World".to_vec())]),
            ]),
        ),
        (b"*3\r\n$5\r\nhello\r\n$-1\r\n$5\r\nworld\r\n", array(vec![bulk("hello"), Value::Bulk(None), bulk("world")])),
        (b"*2\r\n*0\r\n*-1\r\n", array(vec![array(vec![]), Value::Array(None)])),
        (b"*1\r\n*1\r\n*1\r\n:7\r\n", array(vec![array(vec![array(vec![Value::Integer(7)])])])),
        (b"*2\r\n$7\r\nmessage\r\n$0\r\n\r\n", array(vec![bulk("message"), bulk("")])),
    ];
    for (bytes, value) in &cases {
        check_golden(bytes, value);
    }
}

#[test]
fn integer_forms() {
    let int = |s: &[u8]| parse(s, &RespLimits::default()).map(|r| r.map(|(v, _)| v));
    assert_eq!(int(b":+7\r\n"), Ok(Some(Value::Integer(7))));
    assert_eq!(int(b":9223372036854775807\r\n"), Ok(Some(Value::Integer(i64::MAX))));
    assert_eq!(int(b":-9223372036854775808\r\n"), Ok(Some(Value::Integer(i64::MIN))));
    assert_eq!(int(b":9223372036854775808\r\n"), Err(RespError::BadInteger));
    assert_eq!(int(b":-9223372036854775809\r\n"), Err(RespError::BadInteger));
    for bad in [&b":\r\n"[..], b":-\r\n", b":+\r\n", b":1a\r\n", b": 1\r\n", b":1.5\r\n", b":--1\r\n"] {
        assert_eq!(int(bad), Err(RespError::BadInteger), "{bad:?}");
    }
}

/// Every refusal, with the input that crosses the rule, and with its message.
#[test]
fn errors_quote_the_rule() {
    let cases: Vec<(&[u8], RespError)> = vec![
        // A type byte outside RESP2 (RESP3's `_`, `#`, `>` included: we never ask for RESP3).
        (b"!x\r\n", RespError::UnknownType(b'!')),
        (b"_\r\n", RespError::UnknownType(b'_')),
        (b">3\r\n", RespError::UnknownType(b'>')),
        (b"OK\r\n", RespError::UnknownType(b'O')),
        (b"*1\r\n?\r\n", RespError::UnknownType(b'?')),
        // Missing CRLF: a CR without LF, an LF without CR.
        (b"+OK\rX", RespError::BadLineEnding),
        (b"+OK\n", RespError::BadLineEnding),
        (b":1\n", RespError::BadLineEnding),
        (b"$5\nhello\r\n", RespError::BadLineEnding),
        // Bulk data not followed by CRLF.
        (b"$5\r\nhelloXY", RespError::BulkNotTerminated),
        (b"$5\r\nhello\n\r", RespError::BulkNotTerminated),
        (b"$1\r\nab\r\n", RespError::BulkNotTerminated),
        // Lengths: not digits, empty, signs, negative other than -1.
        (b"$abc\r\n", RespError::BadLength),
        (b"$\r\n", RespError::BadLength),
        (b"$+5\r\n", RespError::BadLength),
        (b"$ 5\r\n", RespError::BadLength),
        (b"*1x\r\n", RespError::BadLength),
        (b"$-\r\n", RespError::BadLength),
        (b"$-2\r\n", RespError::NegativeLength),
        (b"*-5\r\n", RespError::NegativeLength),
        (b"$-0\r\n", RespError::NegativeLength),
        // Over the limits (max_bulk 100, max_array 10, max_depth 3, max_line 20).
        (b"$101\r\n", RespError::BulkTooLong { len: 101, max: 100 }),
        (b"$9999999999\r\n", RespError::BulkTooLong { len: 9_999_999_999, max: 100 }),
        (b"$99999999999999999999999\r\n", RespError::LineTooLong { max: 20 }),
        (b"*11\r\n", RespError::ArrayTooLong { len: 11, max: 10 }),
        (b"*2000000000\r\n", RespError::ArrayTooLong { len: 2_000_000_000, max: 10 }),
        (b"*1\r\n*1\r\n*1\r\n*1\r\n", RespError::TooDeep { max: 3 }),
        (b"*1\r\n*1\r\n*1\r\n*0\r\n", RespError::TooDeep { max: 3 }),
        (b"+123456789012345678901\r\n", RespError::LineTooLong { max: 20 }),
        (b"-123456789012345678901", RespError::LineTooLong { max: 20 }),
    ];
    for (bytes, error) in &cases {
        assert_eq!(parse(bytes, &LIMITS), Err(*error), "{bytes:?}");
        assert!(!error.to_string().is_empty());
    }
    assert!(RespError::BadLineEnding.to_string().contains("CRLF"));
    assert!(RespError::UnknownType(b'_').to_string().contains("0x5f"));
    assert!(RespError::TooDeep { max: 3 }.to_string().contains("limit of 3"));
}

/// Each limit is inclusive: the input exactly at it passes.
#[test]
fn limits_are_inclusive() {
    let mut at_bulk = b"$100\r\n".to_vec();
    at_bulk.extend_from_slice(&[b'x'; 100]);
    at_bulk.extend_from_slice(b"\r\n");
    assert!(matches!(parse(&at_bulk, &LIMITS), Ok(Some((Value::Bulk(Some(d)), n))) if d.len() == 100 && n == 108));
    let mut at_array = b"*10\r\n".to_vec();
    at_array.extend(std::iter::repeat_n(&b":1\r\n"[..], 10).flatten());
    assert!(matches!(parse(&at_array, &LIMITS), Ok(Some((Value::Array(Some(v)), _))) if v.len() == 10));
    assert!(matches!(parse(b"*1\r\n*1\r\n*1\r\n:1\r\n", &LIMITS), Ok(Some(_))));
    assert!(matches!(parse(b"+12345678901234567890\r\n", &LIMITS), Ok(Some(_))));
    // A line at the limit still waiting for its CRLF is incomplete, not too long.
    assert_eq!(parse(b"+12345678901234567890", &LIMITS), Ok(None));
    assert_eq!(parse(b"+12345678901234567890\r", &LIMITS), Ok(None));
}

/// Hostile claims are refused at once, or wait without reserving by the claim.
#[test]
fn hostile_claims_allocate_nothing_by_claim() {
    let big = RespLimits::default();
    assert_eq!(parse(b"$9999999999\r\n", &big), Err(RespError::BulkTooLong { len: 9_999_999_999, max: 16 << 20 }));
    assert_eq!(parse(b"*2000000000\r\n", &big), Err(RespError::ArrayTooLong { len: 2_000_000_000, max: 1 << 20 }));
    // Within the limits the claim is only a promise: an incomplete reply, nothing reserved.
    assert_eq!(parse(b"$16777216\r\nabc", &big), Ok(None));
    assert_eq!(parse(b"*1048576\r\n:1\r\n", &big), Ok(None));
    // Ten thousand nested arrays: refused at the limit, no recursion.
    let deep = b"*1\r\n".repeat(10_000);
    assert_eq!(parse(&deep, &big), Err(RespError::TooDeep { max: 8 }));
    let unlimited = RespLimits { max_depth: usize::MAX, ..big };
    let mut deep_ok = deep.clone();
    deep_ok.extend_from_slice(b":1\r\n");
    let (value, n) = parse(&deep_ok, &unlimited).unwrap().unwrap();
    assert_eq!(n, deep_ok.len());
    // Dropping a 10k-deep value recurses in Drop; flatten it first to keep the test's stack small.
    let mut depth = 0;
    let mut v = value;
    while let Value::Array(Some(mut items)) = v {
        depth += 1;
        v = items.pop().unwrap();
    }
    assert_eq!((depth, v), (10_000, Value::Integer(1)));
}

#[test]
fn encode_command_golden() {
    let mut out = Vec::new();
    encode_command(&mut out, &[b"SET", b"key", b"a\r\nb"]);
    assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$4\r\na\r\nb\r\n");
    out.clear();
    encode_command(&mut out, &[b"PING"]);
    assert_eq!(out, b"*1\r\n$4\r\nPING\r\n");
    out.clear();
    encode_command(&mut out, &[b"ECHO", b""]);
    assert_eq!(out, b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n");
    assert_eq!(
        parse(&out, &LIMITS),
        Ok(Some((array(vec![bulk("ECHO"), bulk("")]), out.len()))),
        "a command reads back as an array of bulk strings"
    );
}

#[test]
fn value_accessors() {
    assert_eq!(bulk("42").as_int(), Some(42));
    assert_eq!(Value::Integer(-3).as_int(), Some(-3));
    assert_eq!(bulk("x").as_int(), None);
    assert_eq!(Value::SimpleString(b"OK".to_vec()).as_bytes(), Some(&b"OK"[..]));
    assert_eq!(Value::Bulk(None).as_bytes(), None);
    assert_eq!(array(vec![]).as_array(), Some(&[][..]));
    assert_eq!(Value::Array(None).as_array(), None);
}
