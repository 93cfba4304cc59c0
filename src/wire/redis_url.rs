//! The `--redis` URL: `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` (the contract's form of
//! the IANA `redis` URI scheme; RFC 3986 §3 for its parts).
//!
//! USER and PASSWORD may be percent-encoded (RFC 3986 §2.1), so a password can hold `@`, `:`
//! or `/`. An empty PASSWORD counts as none. HOST is a name, an IPv4 address, or an IPv6
//! address in brackets (RFC 3986 §3.2.2); PORT defaults to 6379, DB to 0.

use std::fmt;

/// Where and how to reach Redis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// Without brackets for IPv6.
    pub host: String,
    pub port: u16,
    /// For `AUTH user password` (Redis 6 ACL); `None`: `AUTH password` or no AUTH.
    pub user: Option<String>,
    pub password: Option<String>,
    pub db: u32,
}

/// Why a URL was refused; the message says what is expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisUrlError {
    /// `rediss://`: we speak plain TCP only.
    Tls,
    /// Another scheme, or none.
    Scheme(String),
    /// No host between `//` (or `@`) and `:`/`/`.
    MissingHost,
    /// Not 1-65535, or not a number.
    Port(String),
    /// Not a whole number.
    Db(String),
    /// Credentials without the `:` before PASSWORD, or a bad percent-escape.
    Userinfo(&'static str),
    /// Something after the database (a query, a fragment, a second `/`).
    Trailing(String),
}

impl fmt::Display for RedisUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FORM: &str = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]";
        match self {
            RedisUrlError::Tls => write!(f, "rediss:// (TLS) is not supported: use {FORM}"),
            RedisUrlError::Scheme(s) => write!(f, "unsupported URL scheme {s:?}: expected {FORM}"),
            RedisUrlError::MissingHost => write!(f, "no host in the Redis URL: expected {FORM}"),
            RedisUrlError::Port(p) => write!(f, "Redis port {p:?} is not a number from 1 to 65535"),
            RedisUrlError::Db(d) => write!(f, "Redis database {d:?} is not a whole number"),
            RedisUrlError::Userinfo(why) => write!(f, "Redis URL credentials: {why} (expected [USER]:PASSWORD@)"),
            RedisUrlError::Trailing(t) => {
                write!(f, "unexpected {t:?} after the database in the Redis URL: expected {FORM}")
            }
        }
    }
}

impl std::error::Error for RedisUrlError {}

impl RedisUrl {
    /// The host as an address: an IP literal, or `localhost`. A name is `None` (the server
    /// looks it up itself: `server::resolve`).
    pub fn ip(&self) -> Option<std::net::IpAddr> {
        match self.host.as_str() {
            "localhost" => Some(std::net::IpAddr::from([127, 0, 0, 1])),
            host => host.parse().ok(),
        }
    }

    /// Parses a `--redis` value.
    pub fn parse(url: &str) -> Result<RedisUrl, RedisUrlError> {
        let rest = match url.split_once("://") {
            // RFC 3986 §3.1: schemes are case-insensitive.
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("redis") => rest,
            Some((scheme, _)) if scheme.eq_ignore_ascii_case("rediss") => return Err(RedisUrlError::Tls),
            Some((scheme, _)) => return Err(RedisUrlError::Scheme(format!("{scheme}://"))),
            None => return Err(RedisUrlError::Scheme(url.to_string())),
        };
        // The credentials end at the last `@`: HOST, PORT and DB never hold one.
        let (user, password, rest) = match rest.rsplit_once('@') {
            Some((userinfo, rest)) => {
                let (user, password) =
                    userinfo.split_once(':').ok_or(RedisUrlError::Userinfo("no ':' before PASSWORD"))?;
                let user = percent_decode(user)?;
                let password = percent_decode(password)?;
                ((!user.is_empty()).then_some(user), (!password.is_empty()).then_some(password), rest)
            }
            None => (None, None, rest),
        };
        let (authority, db) = match rest.split_once('/') {
            Some((authority, db)) => (authority, parse_db(db)?),
            None => (authority_only(rest)?, 0),
        };
        let (host, port) = split_host_port(authority)?;
        Ok(RedisUrl { host, port, user, password, db })
    }
}

/// With no `/DB`, nothing but the authority may follow (no `?query`, no `#fragment`).
fn authority_only(rest: &str) -> Result<&str, RedisUrlError> {
    match rest.find(['?', '#']) {
        Some(i) => Err(RedisUrlError::Trailing(rest[i..].to_string())),
        None => Ok(rest),
    }
}

/// The database: decimal digits; empty (`host/`) is 0.
fn parse_db(db: &str) -> Result<u32, RedisUrlError> {
    if let Some(i) = db.find(['?', '#', '/']) {
        return Err(RedisUrlError::Trailing(db[i..].to_string()));
    }
    if db.is_empty() {
        return Ok(0);
    }
    if !db.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RedisUrlError::Db(db.to_string()));
    }
    db.parse().map_err(|_| RedisUrlError::Db(db.to_string()))
}

/// `HOST[:PORT]`, HOST possibly an `[IPv6]` literal (RFC 3986 §3.2.2, §3.2.3).
fn split_host_port(authority: &str) -> Result<(String, u16), RedisUrlError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or(RedisUrlError::MissingHost)?;
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(RedisUrlError::Trailing(after.to_string())),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(RedisUrlError::MissingHost);
    }
    let port = match port {
        None => 6379,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => match p.parse::<u16>() {
            Ok(n) if n >= 1 => n,
            _ => return Err(RedisUrlError::Port(p.to_string())),
        },
        Some(p) => return Err(RedisUrlError::Port(p.to_string())),
    };
    Ok((host.to_string(), port))
}

/// RFC 3986 §2.1: `%` HEXDIG HEXDIG is one byte; the result must be UTF-8.
fn percent_decode(s: &str) -> Result<String, RedisUrlError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
            match (hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
                (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
                _ => return Err(RedisUrlError::Userinfo("'%' not followed by two hex digits")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| RedisUrlError::Userinfo("percent-escapes that are not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(host: &str, port: u16, user: Option<&str>, password: Option<&str>, db: u32) -> RedisUrl {
        RedisUrl { host: host.into(), port, user: user.map(Into::into), password: password.map(Into::into), db }
    }

    #[test]
    fn accepted_forms() {
        let cases = [
            ("redis://localhost", url("localhost", 6379, None, None, 0)),
            ("redis://127.0.0.1:6380", url("127.0.0.1", 6380, None, None, 0)),
            ("redis://h/3", url("h", 6379, None, None, 3)),
            ("redis://h:1/", url("h", 1, None, None, 0)),
            ("redis://h:65535/15", url("h", 65535, None, None, 15)),
            ("redis://:secret@h", url("h", 6379, None, Some("secret"), 0)),
            ("redis://alice:secret@h:7000/2", url("h", 7000, Some("alice"), Some("secret"), 2)),
            ("redis://alice:@h", url("h", 6379, Some("alice"), None, 0)),
            ("redis://:p%40ss%3Aw%2Fd@h", url("h", 6379, None, Some("p@ss:w/d"), 0)),
            ("redis://:a@b@h", url("h", 6379, None, Some("a@b"), 0)),
            ("REDIS://h", url("h", 6379, None, None, 0)),
            ("redis://[::1]:6390/1", url("::1", 6390, None, None, 1)),
            ("redis://[::1]", url("::1", 6379, None, None, 0)),
        ];
        for (text, expected) in cases {
            assert_eq!(RedisUrl::parse(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn refused_forms_say_why() {
        let cases = [
            ("rediss://h", RedisUrlError::Tls, "TLS) is not supported"),
            ("http://h", RedisUrlError::Scheme("http://".into()), "unsupported URL scheme"),
            ("localhost:6379", RedisUrlError::Scheme("localhost:6379".into()), "expected redis://"),
            ("redis://", RedisUrlError::MissingHost, "no host"),
            ("redis://:6379", RedisUrlError::MissingHost, "no host"),
            ("redis://h:0", RedisUrlError::Port("0".into()), "1 to 65535"),
            ("redis://h:65536", RedisUrlError::Port("65536".into()), "1 to 65535"),
            ("redis://h:99999999999", RedisUrlError::Port("99999999999".into()), "1 to 65535"),
            ("redis://h:abc", RedisUrlError::Port("abc".into()), "not a number"),
            ("redis://h:", RedisUrlError::Port("".into()), "not a number"),
            ("redis://h:-1", RedisUrlError::Port("-1".into()), "not a number"),
            ("redis://h/x", RedisUrlError::Db("x".into()), "whole number"),
            ("redis://h/-1", RedisUrlError::Db("-1".into()), "whole number"),
            ("redis://h/1.5", RedisUrlError::Db("1.5".into()), "whole number"),
            ("redis://h/99999999999", RedisUrlError::Db("99999999999".into()), "whole number"),
            ("redis://h/1?x=y", RedisUrlError::Trailing("?x=y".into()), "after the database"),
            ("redis://h/1/2", RedisUrlError::Trailing("/2".into()), "after the database"),
            ("redis://h?x", RedisUrlError::Trailing("?x".into()), "after the database"),
            ("redis://secret@h", RedisUrlError::Userinfo("no ':' before PASSWORD"), "credentials"),
            ("redis://:%zz@h", RedisUrlError::Userinfo("'%' not followed by two hex digits"), "hex"),
            ("redis://:%ff@h", RedisUrlError::Userinfo("percent-escapes that are not UTF-8"), "UTF-8"),
            ("redis://[::1", RedisUrlError::MissingHost, "no host"),
        ];
        for (text, error, words) in cases {
            let got = RedisUrl::parse(text);
            assert_eq!(got, Err(error), "{text}");
            let message = got.unwrap_err().to_string();
            assert!(message.contains(words), "{text}: {message}");
        }
    }
}
