use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn trust(values: &[&str]) -> TrustList {
    TrustList::parse_all(values).unwrap()
}

#[test]
fn trust_values_parse() {
    let list = trust(&["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "loopback", "fd00::1"]);
    for yes in
        ["10.0.0.0", "10.255.255.255", "192.0.2.7", "2001:db8:ffff::1", "127.0.0.1", "127.9.9.9", "::1", "fd00::1"]
    {
        assert!(list.contains(ip(yes)), "{yes}");
    }
    for no in ["11.0.0.1", "192.0.2.8", "2001:db9::1", "128.0.0.1", "::2", "fd00::2", "0.0.0.0"] {
        assert!(!list.contains(ip(no)), "{no}");
    }
    assert!(trust(&["0.0.0.0/0"]).contains(ip("203.0.113.1")));
    assert!(!trust(&["0.0.0.0/0"]).contains(ip("2001:db8::1")), "an IPv4 range holds no IPv6 address");
    assert!(trust(&["::/0"]).contains(ip("2001:db8::1")));
    assert!(trust(&[" LOOPBACK "]).contains(ip("127.0.0.1")));
    assert!(TrustList::default().is_empty() && !TrustList::default().contains(ip("127.0.0.1")));
}

#[test]
fn bad_trust_values_say_why() {
    for (value, why) in [
        ("", "expected an IP address"),
        ("example.org", "expected an IP address"),
        ("10.0.0", "expected an IP address"),
        ("10.0.0.0/", "prefix must be a number"),
        ("10.0.0.0/x", "prefix must be a number"),
        ("10.0.0.0/+8", "prefix must be a number"),
        ("10.0.0.0/33", "prefix must be 0 to 32"),
        ("10.0.0.0/0008", "prefix must be a number"),
        ("::/129", "prefix must be 0 to 128"),
        ("10.0.0.1/8", "did you mean 10.0.0.0/8?"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32?"),
        ("10.0.0.0/8/8", "prefix must be a number"),
        ("[::1]", "expected an IP address"),
    ] {
        let err = TrustList::parse_all(&[value]).unwrap_err();
        assert!(err.contains(why) && err.contains("--trust-proxy"), "{value}: {err}");
    }
    assert!(TrustList::parse_all(&["10.0.0.0/32", "0.0.0.0/0", "::/128"]).is_ok(), "prefix edges");
}

#[test]
fn ipv4_mapped_addresses_count_as_ipv4() {
    let list = trust(&["loopback"]);
    assert!(list.contains(ip("::ffff:127.0.0.1")));
    let mapped_range = trust(&["::ffff:10.0.0.0/104"]);
    assert!(mapped_range.contains(ip("10.1.2.3")) && mapped_range.contains(ip("::ffff:10.1.2.3")));
    assert!(!mapped_range.contains(ip("11.0.0.1")));
    // A mapped peer behind a trusted proxy; the answer is canonical too.
    assert_eq!(client_address(ip("::ffff:127.0.0.1"), &["::ffff:203.0.113.5"], &list), ip("203.0.113.5"));
    assert_eq!(client_address(ip("::ffff:198.51.100.2"), &[], &list), ip("198.51.100.2"));
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_it_claims() {
    let list = trust(&["loopback", "10.0.0.0/8"]);
    let direct = ip("203.0.113.9");
    assert_eq!(client_address(direct, &["1.2.3.4"], &list), direct);
    assert_eq!(client_address(direct, &["127.0.0.1"], &list), direct);
    assert_eq!(client_address(ip("127.0.0.1"), &["1.2.3.4"], &TrustList::default()), ip("127.0.0.1"), "no flag");
}

#[test]
fn behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client() {
    let list = trust(&["loopback", "10.0.0.0/8"]);
    let proxy = ip("127.0.0.1");
    assert_eq!(client_address(proxy, &["198.51.100.1"], &list), ip("198.51.100.1"));
    // A client forging the left part: its own address is still what our proxy appended.
    assert_eq!(client_address(proxy, &["6.6.6.6, 198.51.100.1"], &list), ip("198.51.100.1"));
    assert_eq!(client_address(proxy, &["127.0.0.1, 198.51.100.1"], &list), ip("198.51.100.1"));
    // Chains of trusted proxies are skipped.
    assert_eq!(client_address(proxy, &["6.6.6.6, 198.51.100.1, 10.0.0.2, 10.1.0.3"], &list), ip("198.51.100.1"));
    // Everything trusted: the left-most.
    assert_eq!(client_address(proxy, &["10.0.0.5, 10.0.0.6, 127.0.0.1"], &list), ip("10.0.0.5"));
    // No header, or only empty elements: the peer.
    assert_eq!(client_address(proxy, &[], &list), proxy);
    assert_eq!(client_address(proxy, &[" , ,"], &list), proxy);
    // IPv6 entries and peers.
    assert_eq!(client_address(ip("::1"), &["2001:db8::5 , 10.0.0.1"], &list), ip("2001:db8::5"));
}

#[test]
fn several_header_lines_form_one_list() {
    let list = trust(&["loopback", "10.0.0.0/8"]);
    let proxy = ip("10.0.0.1");
    assert_eq!(client_address(proxy, &["198.51.100.1", "203.0.113.2, 10.0.0.9"], &list), ip("203.0.113.2"));
    assert_eq!(client_address(proxy, &["198.51.100.1", "10.0.0.9"], &list), ip("198.51.100.1"));
    assert_eq!(client_address(proxy, &["10.0.0.8", "", "10.0.0.9"], &list), ip("10.0.0.8"));
}

#[test]
fn a_malformed_header_means_the_peer() {
    let list = trust(&["loopback"]);
    let proxy = ip("127.0.0.1");
    for header in [
        "unknown",
        "198.51.100.1, unknown",
        "198.51.100.1:443",
        "[2001:db8::1]",
        "[2001:db8::1]:80",
        "for=198.51.100.1",
        "198.51.100.1 203.0.113.1",
        "198.51.100.01",
        "_hidden, 198.51.100.1",
    ] {
        assert_eq!(client_address(proxy, &[header], &list), proxy, "{header}");
    }
    assert_eq!(client_address(proxy, &["198.51.100.1", "garbage"], &list), proxy, "one bad line spoils the list");
}
