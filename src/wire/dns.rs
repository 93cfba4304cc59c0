//! DNS messages for a stub resolver (RFC 1035 §4): one question out, the addresses of the
//! answer back in. Just enough to find Redis by name without the C library's resolver.
//!
//! A query is a header (§4.1.1: ID, RD set, QDCOUNT 1) and one question (§4.1.2: QNAME,
//! QTYPE A (§3.2.2) or AAAA (RFC 3596 §2.1), QCLASS IN). A response is accepted only when it
//! answers that query: same ID, QR set, opcode QUERY, and the same question (names compared
//! case-insensitively, RFC 4343 §3). Its answer section's A and AAAA records of class IN are
//! collected; CNAME and every other type are skipped. Names in a response may end in a
//! compression pointer (§4.1.4); they are followed with a bound on hops, and only backwards.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// RFC 1035 §2.3.4: "labels 63 octets or less".
pub const MAX_LABEL: usize = 63;
/// RFC 1035 §2.3.4: "names 255 octets or less" on the wire, which is 253 characters of text
/// (without the final dot): each label costs its length byte, plus the root's zero byte.
pub const MAX_NAME: usize = 253;
/// The same limit in wire form: length bytes, labels and the final zero byte.
const MAX_WIRE_NAME: usize = 255;
/// Compression pointers followed while reading one name (a loop is an error, not a hang).
pub const MAX_POINTER_HOPS: usize = 16;
/// RFC 1035 §4.1.1: the header is 12 bytes.
const HEADER_LEN: usize = 12;
/// RFC 1035 §3.2.4: CLASS IN.
const CLASS_IN: u16 = 1;
/// RFC 1035 §4.1.1: QR (response), TC (truncated), RD (recursion desired).
const FLAG_QR: u16 = 0x8000;
const FLAG_TC: u16 = 0x0200;
const FLAG_RD: u16 = 0x0100;

/// The record type asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    /// RFC 1035 §3.4.1: an IPv4 address, TYPE 1.
    A,
    /// RFC 3596 §2.1: an IPv6 address, TYPE 28.
    Aaaa,
}

impl QueryType {
    /// The TYPE value (RFC 1035 §3.2.2, RFC 3596 §2.1).
    pub fn code(self) -> u16 {
        match self {
            QueryType::A => 1,
            QueryType::Aaaa => 28,
        }
    }
}

/// What a response to our query says (its addresses go to the caller's vector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// RCODE 0 (No error). The name exists; the addresses of the answer section were pushed
    /// (none: the name has no record of that type). `truncated`: TC was set (§4.1.1), so the
    /// answer section may be incomplete; what arrived whole was still collected.
    Answer { truncated: bool },
    /// RCODE 3 (Name Error): the name does not exist (RFC 1035 §4.1.1).
    NoSuchName,
}

/// Why a name cannot be asked for, or a message is not a usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DnsError {
    /// The name breaks a rule of RFC 1035 §2.3.4 (or uses a character a host name never has).
    BadName(&'static str),
    /// Not an answer to our query (another ID, not a response, another question): ignore it
    /// and keep waiting for ours.
    NotOurs(&'static str),
    /// The server answered with this RCODE (§4.1.1: 1 Format error, 2 Server failure,
    /// 4 Not implemented, 5 Refused, ...).
    Server(u8),
    /// The message breaks the format of RFC 1035 §4.
    Malformed(&'static str),
}

impl fmt::Display for DnsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DnsError::BadName(why) => write!(f, "not a valid host name: {why}"),
            DnsError::NotOurs(why) => write!(f, "not an answer to our query: {why}"),
            DnsError::Server(rcode) => write!(f, "the nameserver answered RCODE {rcode} ({})", rcode_name(*rcode)),
            DnsError::Malformed(why) => write!(f, "malformed DNS response: {why}"),
        }
    }
}

impl std::error::Error for DnsError {}

/// RFC 1035 §4.1.1 RCODE names (RFC 6895 §2.3 for the rest).
fn rcode_name(rcode: u8) -> &'static str {
    match rcode {
        1 => "FORMERR, format error",
        2 => "SERVFAIL, server failure",
        4 => "NOTIMP, not implemented",
        5 => "REFUSED",
        _ => "an error",
    }
}

/// Checks a host name: labels of 1 to 63 letters, digits, `-` or `_`, at most 253 characters
/// in all; one final dot marks it absolute (RFC 1035 §2.3.1, §2.3.4; `_` as in RFC 2181 §11's
/// "any binary string", kept to what host names in practice use).
pub fn validate_name(name: &str) -> Result<(), DnsError> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return Err(DnsError::BadName("the name is empty"));
    }
    if name.len() > MAX_NAME {
        return Err(DnsError::BadName("longer than 253 characters (RFC 1035 §2.3.4)"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(DnsError::BadName("an empty label (two dots in a row, or a leading dot)"));
        }
        if label.len() > MAX_LABEL {
            return Err(DnsError::BadName("a label longer than 63 characters (RFC 1035 §2.3.4)"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(DnsError::BadName("only letters, digits, '-', '_' and dots are allowed"));
        }
    }
    Ok(())
}

/// Appends a query for `name` (absolute: no search domain is added here) with this ID:
/// the header of RFC 1035 §4.1.1 with RD set and QDCOUNT 1, then the question of §4.1.2.
pub fn build_query(id: u16, name: &str, qtype: QueryType, out: &mut Vec<u8>) -> Result<(), DnsError> {
    validate_name(name)?;
    let counts: [u16; 4] = [1, 0, 0, 0]; // QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&FLAG_RD.to_be_bytes());
    counts.iter().for_each(|c| out.extend_from_slice(&c.to_be_bytes()));
    // §3.1: each label as a length byte and its bytes, then the root's zero byte.
    for label in name.strip_suffix('.').unwrap_or(name).split('.') {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out.extend_from_slice(&qtype.code().to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    Ok(())
}

/// Reads `response` as the answer to `query` (the bytes [`build_query`] made), pushing the
/// addresses of its A and AAAA records of class IN to `out`, in the order they came. On an
/// error `out` is left as it was (no address from a message that turned out malformed).
pub fn parse_response(response: &[u8], query: &[u8], out: &mut Vec<IpAddr>) -> Result<Reply, DnsError> {
    let header = |m: &[u8], i: usize| m.get(i..i + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let (Some(id), Some(flags)) = (header(response, 0), header(response, 2)) else {
        return Err(DnsError::NotOurs("shorter than a DNS header"));
    };
    if header(query, 0) != Some(id) {
        return Err(DnsError::NotOurs("another ID"));
    }
    if flags & FLAG_QR == 0 || (flags >> 11) & 0xF != 0 {
        return Err(DnsError::NotOurs("not a response to a standard query (QR, OPCODE)"));
    }
    let rcode = (flags & 0xF) as u8;
    if rcode != 0 && rcode != 3 {
        return Err(DnsError::Server(rcode));
    }
    if response.len() < HEADER_LEN {
        return Err(DnsError::Malformed("shorter than the 12-byte header (RFC 1035 §4.1.1)"));
    }
    if header(response, 4) != Some(1) {
        return Err(DnsError::NotOurs("not exactly one question"));
    }
    let ancount = header(response, 6).unwrap_or(0);
    let after_question = same_question(response, query)?;
    if rcode == 3 {
        return Ok(Reply::NoSuchName);
    }
    let truncated = flags & FLAG_TC != 0;
    let before = out.len();
    match read_answers(response, after_question, ancount, out) {
        // A truncated message may stop anywhere: keep the records that arrived whole.
        Err(DnsError::Malformed(_)) if truncated => Ok(Reply::Answer { truncated }),
        Err(e) => {
            out.truncate(before);
            Err(e)
        }
        Ok(()) => Ok(Reply::Answer { truncated }),
    }
}

/// Checks that the response's question is the query's (RFC 5452 §9.1: ID, name, type and
/// class must all match); returns where the answer section starts.
fn same_question(response: &[u8], query: &[u8]) -> Result<usize, DnsError> {
    let mut theirs = Vec::new();
    let mut ours = Vec::new();
    let end = read_name(response, HEADER_LEN, &mut theirs)?;
    let our_end = read_name(query, HEADER_LEN, &mut ours).map_err(|_| DnsError::BadName("the query is malformed"))?;
    let (Some(kind), Some(our_kind)) = (response.get(end..end + 4), query.get(our_end..our_end + 4)) else {
        return Err(DnsError::Malformed("the question ends early (RFC 1035 §4.1.2)"));
    };
    if theirs != ours || kind != our_kind {
        return Err(DnsError::NotOurs("another question"));
    }
    Ok(end + 4)
}

/// Walks `count` resource records (RFC 1035 §4.1.3) from `pos`, collecting addresses.
fn read_answers(msg: &[u8], mut pos: usize, count: u16, out: &mut Vec<IpAddr>) -> Result<(), DnsError> {
    let mut name = Vec::new();
    for _ in 0..count {
        pos = read_name(msg, pos, &mut name)?;
        let Some(fixed) = msg.get(pos..pos + 10) else {
            return Err(DnsError::Malformed("a record ends before its RDATA (RFC 1035 §4.1.3)"));
        };
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let class = u16::from_be_bytes([fixed[2], fixed[3]]);
        let rdlength = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        pos += 10;
        let Some(rdata) = msg.get(pos..pos + rdlength) else {
            return Err(DnsError::Malformed("RDATA runs past the end of the message"));
        };
        pos += rdlength;
        if class != CLASS_IN {
            continue;
        }
        if rtype == QueryType::A.code() {
            let octets: [u8; 4] =
                rdata.try_into().map_err(|_| DnsError::Malformed("an A record's RDATA is not 4 bytes"))?;
            out.push(IpAddr::V4(Ipv4Addr::from(octets)));
        } else if rtype == QueryType::Aaaa.code() {
            let octets: [u8; 16] =
                rdata.try_into().map_err(|_| DnsError::Malformed("an AAAA record's RDATA is not 16 bytes"))?;
            out.push(IpAddr::V6(Ipv6Addr::from(octets)));
        }
    }
    Ok(())
}

/// Reads the name at `pos` into `name` as lower-case wire labels (RFC 1035 §3.1), following
/// compression pointers (§4.1.4: the top two bits set; 14 bits of offset to a prior
/// occurrence). Returns where the name ends in the message: after its zero byte, or after
/// its first pointer. A pointer must point backwards, at most [`MAX_POINTER_HOPS`] are
/// followed, and the name may not exceed 255 bytes (§2.3.4).
fn read_name(msg: &[u8], mut pos: usize, name: &mut Vec<u8>) -> Result<usize, DnsError> {
    name.clear();
    let mut end = None;
    let mut hops = 0;
    loop {
        let Some(&len) = msg.get(pos) else {
            return Err(DnsError::Malformed("a name runs past the end of the message"));
        };
        match len & 0xC0 {
            0x00 if len == 0 => {
                name.push(0);
                return Ok(end.unwrap_or(pos + 1));
            }
            0x00 => {
                let Some(label) = msg.get(pos + 1..pos + 1 + usize::from(len)) else {
                    return Err(DnsError::Malformed("a label runs past the end of the message"));
                };
                name.push(len);
                name.extend(label.iter().map(u8::to_ascii_lowercase));
                if name.len() + 1 > MAX_WIRE_NAME {
                    return Err(DnsError::Malformed("a name longer than 255 bytes (RFC 1035 §2.3.4)"));
                }
                pos += 1 + usize::from(len);
            }
            0xC0 => {
                let Some(&low) = msg.get(pos + 1) else {
                    return Err(DnsError::Malformed("a compression pointer cut in half"));
                };
                let target = usize::from(len & 0x3F) << 8 | usize::from(low);
                hops += 1;
                if target >= pos || hops > MAX_POINTER_HOPS {
                    return Err(DnsError::Malformed(
                        "a compression pointer that does not point back (RFC 1035 §4.1.4)",
                    ));
                }
                end.get_or_insert(pos + 2);
                pos = target;
            }
            _ => return Err(DnsError::Malformed("a label type other than length or pointer (RFC 1035 §4.1.4)")),
        }
    }
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;
