//! The static table of host names, hosts(5): looked at before any nameserver (the `files`
//! before `dns` of nsswitch.conf(5)'s usual `hosts:` line).
//!
//! hosts(5): "one line per IP address, with the following information: IP_address
//! canonical_hostname [aliases...]"; "Fields of the entry are separated by any number of
//! blanks and/or tab characters. Text from a "#" character until the end of the line is a
//! comment, and is ignored. Host names may contain only alphanumeric characters, minus signs
//! ("-"), and periods (".")." Names are compared case-insensitively (RFC 4343 §3), a final
//! dot aside.

use std::net::IpAddr;

/// The address of the first line of `text` that names `name` (canonically or as an alias).
pub fn lookup(text: &str, name: &str) -> Option<IpAddr> {
    let name = name.strip_suffix('.').unwrap_or(name);
    if name.is_empty() {
        return None;
    }
    text.lines().find_map(|line| {
        let line = line.split_once('#').map_or(line, |(entry, _comment)| entry);
        let mut fields = line.split_ascii_whitespace();
        let address: IpAddr = fields.next()?.parse().ok()?;
        fields.any(|n| n.strip_suffix('.').unwrap_or(n).eq_ignore_ascii_case(name)).then_some(address)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "# The following lines are desirable for IPv4 capable hosts\n\
        127.0.0.1       localhost\n\
        192.168.1.10    foo.example.org  foo # the first one wins\n\
        192.168.1.11    foo.example.org\n\
        not-an-address  bar\n\
        fd00::6379\tredis  cache.internal.\n\
        10.0.0.1#redis\n\
        # 10.9.9.9 ghost\n\
        10.0.0.7 foo-bar\n";

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn lookups() {
        assert_eq!(lookup(SAMPLE, "foo.example.org"), ip("192.168.1.10"));
        assert_eq!(lookup(SAMPLE, "FOO"), ip("192.168.1.10"), "aliases, any case");
        assert_eq!(lookup(SAMPLE, "foo."), ip("192.168.1.10"), "a final dot aside");
        assert_eq!(lookup(SAMPLE, "redis"), ip("fd00::6379"));
        assert_eq!(lookup(SAMPLE, "cache.internal"), ip("fd00::6379"));
        assert_eq!(lookup(SAMPLE, "foo-bar"), ip("10.0.0.7"));
    }

    #[test]
    fn misses() {
        for name in ["bar", "ghost", "fo", "foo.example", "example.org", "", ".", "# the"] {
            assert_eq!(lookup(SAMPLE, name), None, "{name:?}");
        }
        assert_eq!(lookup("", "localhost"), None);
        assert_eq!(lookup("127.0.0.1", "127.0.0.1"), None, "an address is not a name");
        assert_eq!(lookup("\u{0}\n\u{ffff} x\n::1 x", "x"), ip("::1"));
    }
}
