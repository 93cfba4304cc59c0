use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;

fn named_link(resolve: fn(&str) -> io::Result<IpAddr>, now: Instant) -> RedisLink {
    let url = RedisUrl::parse("redis://10.0.0.1:6380").unwrap();
    let mut link = RedisLink::start(&url, now).unwrap();
    link.host = "redis".into();
    link.is_name = true;
    link.resolve = resolve;
    for l in &mut link.links {
        l.retry_at = Some(now + MAX_BACKOFF);
    }
    link
}

/// Waits for the lookup thread, then lets the link take its result.
fn finish(link: &mut RedisLink, now: Instant) {
    let started = Instant::now();
    while !link.lookup.as_ref().is_some_and(JoinHandle::is_finished) {
        assert!(started.elapsed() < Duration::from_secs(5), "the lookup thread never finished");
        std::thread::sleep(Duration::from_millis(5));
    }
    link.take_lookup(now);
    assert!(link.lookup.is_none());
}

#[test]
fn a_new_address_is_used_and_tried_at_once() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn moved(host: &str) -> io::Result<IpAddr> {
        assert_eq!(host, "redis");
        CALLS.fetch_add(1, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        Ok(IpAddr::from([10, 0, 0, 2]))
    }
    let now = Instant::now();
    let mut link = named_link(moved, now);
    link.look_up_again();
    link.look_up_again(); // One in flight: no second lookup.
    link.take_lookup(now); // Not finished yet: nothing changes.
    assert_eq!(link.address, SocketAddr::from(([10, 0, 0, 1], 6380)));
    finish(&mut link, now);
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(link.address, SocketAddr::from(([10, 0, 0, 2], 6380)), "the port stays");
    assert!(link.links.iter().all(|l| l.retry_at == Some(now)), "reconnect now, at the new address");
}

#[test]
fn a_failed_lookup_keeps_the_old_address() {
    fn gone(_: &str) -> io::Result<IpAddr> {
        Err(io::Error::other("no answer"))
    }
    let now = Instant::now();
    let mut link = named_link(gone, now);
    link.look_up_again();
    finish(&mut link, now);
    assert_eq!(link.address, SocketAddr::from(([10, 0, 0, 1], 6380)));
    assert!(link.lookup_failing);
    assert!(link.links.iter().all(|l| l.retry_at == Some(now + MAX_BACKOFF)), "the backoff stands");
}

#[test]
fn an_address_is_never_looked_up_again() {
    fn never(_: &str) -> io::Result<IpAddr> {
        panic!("an IP literal was looked up")
    }
    let url = RedisUrl::parse("redis://10.0.0.1").unwrap();
    let mut link = RedisLink::start(&url, Instant::now()).unwrap();
    link.resolve = never;
    link.look_up_again();
    assert!(link.lookup.is_none() && !link.is_name);
}
