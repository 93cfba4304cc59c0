use std::net::UdpSocket;

use super::*;

/// A link to `redis` (a name) found at 10.0.0.1:6380, looking up again with `resolver`.
fn named_link(resolver: Resolver, now: Instant) -> RedisLink {
    let url = RedisUrl::parse("redis://10.0.0.1:6380").unwrap();
    let mut link = RedisLink::start(&url, now).unwrap();
    link.host = "redis".into();
    link.is_name = true;
    link.resolver = Some(resolver);
    for l in &mut link.links {
        l.retry_at = Some(now + MAX_BACKOFF);
    }
    link
}

const OLD: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)), 6380);

#[test]
fn a_new_address_is_used_and_tried_at_once() {
    let now = Instant::now();
    let mut link = named_link(Resolver::from_files("", "10.0.0.2 redis\n"), now);
    link.look_up_again(now);
    assert_eq!(link.address, SocketAddr::from(([10, 0, 0, 2], 6380)), "the port stays");
    assert!(link.links.iter().all(|l| l.retry_at == Some(now)), "reconnect now, at the new address");
    assert!(!link.lookup_failing);
    assert!(link.moved, "connections still up to the old address are made again too");
    let mut same = named_link(Resolver::from_files("", "10.0.0.1 redis\n"), now);
    same.look_up_again(now);
    assert!(!same.moved && same.address == OLD, "the same address: nothing to redo");
}

#[test]
fn a_lookup_under_way_never_blocks_and_a_failure_keeps_the_old_address() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut resolver = Resolver::from_files("", "");
    resolver.nameservers = vec![silent.local_addr().unwrap()];
    resolver.timeout = Duration::from_millis(100);
    let now = Instant::now();
    let mut link = named_link(resolver, now);
    link.look_up_again(now);
    assert!(link.lookup.is_some());
    let started = Instant::now();
    link.poll_lookup(now);
    assert!(started.elapsed() < Duration::from_millis(50), "a poll does not wait for the answer");
    assert!(link.lookup.is_some(), "nothing came yet");
    let mut buf = [0; 512];
    let (n, _) = silent.recv_from(&mut buf).expect("the question was sent");
    assert!(n > 12);
    while link.lookup.is_some() {
        assert!(started.elapsed() < Duration::from_secs(5), "the lookup never ended");
        std::thread::sleep(Duration::from_millis(10));
        link.poll_lookup(now);
    }
    assert!(started.elapsed() >= Duration::from_millis(200), "two tries of 100 ms");
    assert_eq!(link.address, OLD);
    assert!(link.lookup_failing);
    assert!(link.links.iter().all(|l| l.retry_at == Some(now + MAX_BACKOFF)), "the backoff stands");
}

#[test]
fn one_lookup_at_a_time_and_never_for_an_address() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut resolver = Resolver::from_files("", "");
    resolver.nameservers = vec![silent.local_addr().unwrap()];
    let now = Instant::now();
    let mut link = named_link(resolver, now);
    link.look_up_again(now);
    link.poll_lookup(now); // sends the first question
    link.look_up_again(now);
    link.poll_lookup(now);
    silent.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut buf = [0; 512];
    assert!(silent.recv_from(&mut buf).is_ok(), "the first lookup asks");
    assert!(silent.recv_from(&mut buf).is_err(), "no second lookup while one is under way");
    let url = RedisUrl::parse("redis://10.0.0.1").unwrap();
    let mut link = RedisLink::start(&url, now).unwrap();
    link.resolver = Some(Resolver::from_files("", "10.0.0.2 10.0.0.1\n"));
    link.look_up_again(now);
    assert!(link.lookup.is_none() && !link.is_name);
    assert_eq!(link.address.ip(), OLD.ip());
}
