//! Trusted proxies and `X-Forwarded-For` (the contract's "Operating it": `--trust-proxy ADDR`).
//!
//! A [`TrustList`] holds the `--trust-proxy` values: IP addresses, CIDR ranges (RFC 4632 §3.1
//! for IPv4, RFC 4291 §2.3 for IPv6 prefixes) and the word `loopback` (127.0.0.0/8 and ::1).
//! [`client_address`] finds the client behind them. `X-Forwarded-For` has no RFC; its de-facto
//! form is a comma-separated list where each proxy appends the address it received the request
//! from, so only the right end of the list, written by proxies we trust, can be believed.
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2) are compared as IPv4.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One trusted range: an address and the number of leading bits that must match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    net: IpAddr,
    prefix: u8,
}

impl Range {
    fn contains(&self, addr: IpAddr) -> bool {
        match (self.net, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => masked_v4(a, self.prefix) == net,
            (IpAddr::V6(net), IpAddr::V6(a)) => masked_v6(a, self.prefix) == net,
            _ => false,
        }
    }
}

fn masked_v4(a: Ipv4Addr, prefix: u8) -> Ipv4Addr {
    let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
    Ipv4Addr::from(u32::from(a) & mask)
}

fn masked_v6(a: Ipv6Addr, prefix: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
    Ipv6Addr::from(u128::from(a) & mask)
}

/// The peers whose forwarding headers are believed. Empty (the default): none are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustList {
    ranges: Vec<Range>,
}

impl TrustList {
    /// A list from every `--trust-proxy` value.
    pub fn parse_all<S: AsRef<str>>(values: &[S]) -> Result<TrustList, String> {
        let mut list = TrustList::default();
        for value in values {
            list.add(value.as_ref())?;
        }
        Ok(list)
    }

    /// Adds one `--trust-proxy` value: `loopback`, an address, or `ADDRESS/PREFIX`.
    pub fn add(&mut self, value: &str) -> Result<(), String> {
        let value = value.trim();
        if value.eq_ignore_ascii_case("loopback") {
            self.ranges.push(Range { net: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), prefix: 8 });
            self.ranges.push(Range { net: IpAddr::V6(Ipv6Addr::LOCALHOST), prefix: 128 });
            return Ok(());
        }
        let (addr_text, prefix_text) = match value.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (value, None),
        };
        let bad = |why: &str| format!("--trust-proxy {value:?}: {why}");
        let addr: IpAddr = addr_text
            .parse()
            .map_err(|_| bad("expected an IP address, a CIDR range such as 10.0.0.0/8, or loopback"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("the prefix must be 0 to {max}")))?,
            Some(_) => return Err(bad(&format!("the prefix must be a number from 0 to {max}"))),
        };
        let masked = match addr {
            IpAddr::V4(a) => IpAddr::V4(masked_v4(a, prefix)),
            IpAddr::V6(a) => IpAddr::V6(masked_v6(a, prefix)),
        };
        if masked != addr {
            return Err(bad(&format!("host bits are set; did you mean {masked}/{prefix}?")));
        }
        self.ranges.push(canonical_range(Range { net: addr, prefix }));
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// Whether `addr` is a trusted proxy.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = addr.to_canonical();
        self.ranges.iter().any(|r| r.contains(addr))
    }
}

/// An IPv6 range inside `::ffff:0:0/96` becomes the IPv4 range it maps.
fn canonical_range(r: Range) -> Range {
    match r.net {
        IpAddr::V6(net) if r.prefix >= 96 => match net.to_ipv4_mapped() {
            Some(v4) => Range { net: IpAddr::V4(v4), prefix: r.prefix - 96 },
            None => r,
        },
        _ => r,
    }
}

/// The client's address for a connection from `peer` that sent the `X-Forwarded-For` header
/// lines `xff_headers` (values only, in the order received).
///
/// When `peer` is not trusted, the headers are ignored, whoever sent them. Otherwise the lines
/// form one list (RFC 9110 §5.3: several lines of a list field are one comma-joined value;
/// empty elements are ignored, §5.6.1), walked from the right skipping trusted addresses: the
/// first untrusted one is the client, and if every entry is trusted, the left-most. An entry
/// that is not an IP address makes the whole header malformed, and `peer` is used. The answer
/// is canonical (IPv4-mapped IPv6 as IPv4).
pub fn client_address(peer: IpAddr, xff_headers: &[&str], trust: &TrustList) -> IpAddr {
    let peer = peer.to_canonical();
    if !trust.contains(peer) {
        return peer;
    }
    let mut entries = Vec::new();
    for entry in xff_headers.iter().flat_map(|line| line.split(',')).map(str::trim) {
        if entry.is_empty() {
            continue;
        }
        match entry.parse::<IpAddr>() {
            Ok(addr) => entries.push(addr.to_canonical()),
            Err(_) => return peer,
        }
    }
    match entries.iter().rev().find(|a| !trust.contains(**a)) {
        Some(client) => *client,
        None => entries.first().copied().unwrap_or(peer),
    }
}

#[cfg(test)]
#[path = "forwarded_tests.rs"]
mod tests;
