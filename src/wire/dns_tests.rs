use super::*;

/// `redis.test.` A, ID 0x1234, RD set: RFC 1035 §4.1.1 header, §4.1.2 question.
const QUERY_A: [u8; 28] = [
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // header
    5, b'r', b'e', b'd', b'i', b's', 4, b't', b'e', b's', b't', 0, // QNAME
    0x00, 0x01, 0x00, 0x01, // QTYPE A, QCLASS IN
];

/// The answer to [`QUERY_A`]: QR RD RA, two names compressed against the question's (offset
/// 12 = `C0 0C`): a CNAME (skipped), an A 127.0.0.1, an AAAA ::1, an A of class CH (skipped).
fn golden_response() -> Vec<u8> {
    let mut r = vec![0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00];
    r.extend_from_slice(&QUERY_A[12..]);
    // CNAME redis.test. -> test. (a pointer to the question's second label, offset 18)
    r.extend_from_slice(&[0xC0, 0x0C, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x02, 0xC0, 0x12]);
    // A 127.0.0.1, owner `test.` by pointer
    r.extend_from_slice(&[0xC0, 0x12, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 127, 0, 0, 1]);
    // AAAA ::1
    r.extend_from_slice(&[0xC0, 0x0C, 0x00, 0x1C, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x10]);
    r.extend_from_slice(&[0; 15]);
    r.push(1);
    // A of class CH (3): not an Internet address, skipped
    r.extend_from_slice(&[0xC0, 0x0C, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x3C, 0x00, 0x04, 10, 0, 0, 9]);
    r
}

fn parse(response: &[u8]) -> (Result<Reply, DnsError>, Vec<IpAddr>) {
    let mut out = Vec::new();
    let reply = parse_response(response, &QUERY_A, &mut out);
    (reply, out)
}

fn with_flags(flags: u16) -> Vec<u8> {
    let mut r = golden_response();
    r[2..4].copy_from_slice(&flags.to_be_bytes());
    r
}

#[test]
fn query_golden_bytes() {
    let mut out = Vec::new();
    build_query(0x1234, "redis.test", QueryType::A, &mut out).unwrap();
    assert_eq!(out, QUERY_A);
    out.clear();
    build_query(0x1234, "redis.test.", QueryType::A, &mut out).unwrap();
    assert_eq!(out, QUERY_A, "a final dot only marks the name absolute");
    out.clear();
    build_query(0xBEEF, "Db_1.example", QueryType::Aaaa, &mut out).unwrap();
    let mut expected = vec![0xBE, 0xEF, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 4, b'D', b'b', b'_', b'1'];
    expected.extend_from_slice(&[7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 0, 0x00, 0x1C, 0x00, 0x01]);
    assert_eq!(out, expected);
}

#[test]
fn names_are_checked_before_asking() {
    let long_label = "a".repeat(63);
    let name_253 = format!("{l}.{l}.{l}.{}", "b".repeat(61), l = long_label);
    assert_eq!(name_253.len(), 253);
    for ok in ["redis", "redis.", "a-b_c.d9", &long_label, &name_253, &format!("{name_253}.")] {
        assert_eq!(validate_name(ok), Ok(()), "{ok}");
    }
    let cases = [
        ("", "empty"),
        (".", "empty"),
        ("a..b", "empty label"),
        (".a", "empty label"),
        ("a..", "empty label"),
        (&format!("{long_label}a.b"), "63"),
        (&format!("{name_253}b"), "253"),
        ("a b", "letters"),
        ("a:1", "letters"),
        ("ré.de", "letters"),
    ];
    for (bad, words) in cases {
        let err = validate_name(bad).unwrap_err();
        assert!(err.to_string().contains(words), "{bad:?}: {err}");
        assert!(build_query(1, bad, QueryType::A, &mut Vec::new()).is_err(), "{bad:?}");
    }
}

#[test]
fn golden_response_gives_its_addresses_in_order() {
    let (reply, out) = parse(&golden_response());
    assert_eq!(reply, Ok(Reply::Answer { truncated: false }));
    assert_eq!(out, [IpAddr::from([127, 0, 0, 1]), IpAddr::from(Ipv6Addr::LOCALHOST)]);
}

#[test]
fn every_cut_of_the_response_is_an_error_never_a_panic() {
    let full = golden_response();
    for cut in 0..full.len() {
        let (reply, out) = parse(&full[..cut]);
        assert!(reply.is_err(), "cut at {cut}: {reply:?}");
        // Cut after the first record whole: still no address from a malformed message.
        assert!(out.is_empty(), "cut at {cut}: {out:?}");
    }
}

#[test]
fn truncated_answer_keeps_the_whole_records_and_says_so() {
    let full = with_flags(0x8380); // QR TC RD RA
    let question_end = QUERY_A.len();
    for cut in question_end..=full.len() {
        let (reply, out) = parse(&full[..cut]);
        assert_eq!(reply, Ok(Reply::Answer { truncated: true }), "cut at {cut}");
        let whole = [IpAddr::from([127, 0, 0, 1]), IpAddr::from(Ipv6Addr::LOCALHOST)];
        assert!(whole.starts_with(&out), "cut at {cut}: {out:?}");
    }
    assert!(parse(&full[..question_end]).1.is_empty());
}

#[test]
fn rcodes() {
    assert_eq!(parse(&with_flags(0x8183)), (Ok(Reply::NoSuchName), vec![]));
    for (rcode, words) in [(1u8, "FORMERR"), (2, "SERVFAIL"), (4, "NOTIMP"), (5, "REFUSED"), (9, "RCODE 9")] {
        let (reply, out) = parse(&with_flags(0x8180 | u16::from(rcode)));
        assert_eq!(reply, Err(DnsError::Server(rcode)));
        assert!(reply.unwrap_err().to_string().contains(words));
        assert!(out.is_empty());
    }
}

#[test]
fn responses_to_something_else_are_not_ours() {
    let mut other_id = golden_response();
    other_id[1] = 0x35;
    let query_bit_clear = with_flags(0x0180);
    let other_opcode = with_flags(0x8980);
    let mut two_questions = golden_response();
    two_questions[5] = 2;
    let mut other_name = golden_response();
    other_name[13] = b'x';
    let mut other_type = golden_response();
    other_type[25] = 28;
    let mut other_class = golden_response();
    other_class[27] = 3;
    let cases = [other_id, query_bit_clear, other_opcode, two_questions, other_name, other_type, other_class];
    for (i, case) in cases.iter().enumerate() {
        let (reply, out) = parse(case);
        assert!(matches!(reply, Err(DnsError::NotOurs(_))), "case {i}: {reply:?}");
        assert!(out.is_empty(), "case {i}");
    }
    assert!(matches!(parse(&[0x12, 0x34, 0x81]).0, Err(DnsError::NotOurs(_))));
}

#[test]
fn question_names_compare_case_insensitively() {
    let mut shouting = golden_response();
    shouting[13..18].copy_from_slice(b"REDIS");
    assert_eq!(parse(&shouting).0, Ok(Reply::Answer { truncated: false }));
}

/// A response whose answer section is `answer` (count 1).
fn one_answer(answer: &[u8]) -> Vec<u8> {
    let mut r = vec![0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00];
    r.extend_from_slice(&QUERY_A[12..]);
    r.extend_from_slice(answer);
    r
}

fn malformed(response: &[u8]) -> String {
    match parse(response) {
        (Err(DnsError::Malformed(why)), out) if out.is_empty() => why.to_string(),
        other => panic!("expected a malformed response, got {other:?}"),
    }
}

#[test]
fn hostile_names_and_records() {
    let a_rest = [0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4];
    let with_owner = |owner: &[u8]| one_answer(&[owner, &a_rest[..]].concat());
    // A pointer to itself (offset 28 is where the answer starts), forward, past the end.
    assert!(malformed(&with_owner(&[0xC0, 28])).contains("point back"));
    assert!(malformed(&with_owner(&[0xC0, 60])).contains("point back"));
    assert!(malformed(&with_owner(&[0xFF, 0xFF])).contains("point back"));
    // RFC 6891's extended label types 0x40 and the reserved 0x80.
    assert!(malformed(&with_owner(&[0x41, 0])).contains("label type"));
    assert!(malformed(&with_owner(&[0x80, 0])).contains("label type"));
    // Labels adding up to more than 255 bytes.
    let long: Vec<u8> = (0..5).flat_map(|_| std::iter::once(63).chain([b'a'; 63])).chain([0]).collect();
    assert!(malformed(&with_owner(&long)).contains("255"));
    // An A record whose RDATA is not 4 bytes, an AAAA not 16, RDATA past the end.
    let mut a5 = vec![0xC0, 0x0C, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 5, 1, 2, 3, 4, 5];
    assert!(malformed(&one_answer(&a5)).contains("4 bytes"));
    a5[3] = 28;
    assert!(malformed(&one_answer(&a5)).contains("16 bytes"));
    a5[11] = 200;
    assert!(malformed(&one_answer(&a5)).contains("past the end"));
    // More records announced than present.
    let mut many = golden_response();
    many[6..8].copy_from_slice(&[0xFF, 0xFF]);
    assert!(matches!(parse(&many).0, Err(DnsError::Malformed(_))));
}

#[test]
fn pointer_chains_within_the_bound_are_followed() {
    let mut name = Vec::new();
    // offsets: 0 "\x01a" + pointer chain of MAX_POINTER_HOPS pointers back to 0.
    let mut msg = vec![1, b'a', 0];
    let mut last = 0u8;
    for _ in 0..MAX_POINTER_HOPS {
        let here = msg.len() as u8;
        msg.extend_from_slice(&[0xC0, last]);
        last = here;
    }
    let end = read_name(&msg, usize::from(last), &mut name).unwrap();
    assert_eq!((end, name.as_slice()), (usize::from(last) + 2, &[1, b'a', 0][..]));
    msg.extend_from_slice(&[0xC0, last]);
    let too_far = msg.len() - 2;
    assert!(matches!(read_name(&msg, too_far, &mut name), Err(DnsError::Malformed(_))));
}

#[test]
fn random_damage_never_panics() {
    let golden = golden_response();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut answered = 0;
    for _ in 0..20_000 {
        let mut msg = golden.clone();
        for _ in 0..1 + next() % 4 {
            let i = (next() as usize) % msg.len();
            msg[i] = next() as u8;
        }
        msg.truncate(golden.len() - (next() as usize % 8));
        let (reply, out) = parse(&msg);
        answered += usize::from(reply.is_ok());
        assert!(out.len() <= 3, "{out:?}");
    }
    assert!(answered > 0, "some damage (to TTLs, say) leaves a usable answer");
}

/// A real nameserver's answer (captured once) to the query this module builds for
/// `index.crates.io.` A with ID 0x4242: the owner compressed to `C0 0C`.
#[test]
fn a_captured_answer() {
    let hex = "42428180000100010000000005696e6465780663726174657302696f0000010001c00c000100010000003c0004cb007150";
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let mut query = Vec::new();
    build_query(0x4242, "index.crates.io", QueryType::A, &mut query).unwrap();
    assert_eq!(bytes[12..query.len()], query[12..], "the question is echoed");
    let mut out = Vec::new();
    assert_eq!(parse_response(&bytes, &query, &mut out), Ok(Reply::Answer { truncated: false }));
    assert_eq!(out, [IpAddr::from([203, 0, 113, 80])]);
}
