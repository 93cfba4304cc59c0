//! Socket set-up mio does not offer: spreading loopback connections over source addresses
//! (closing without TIME_WAIT is the kit's `set_abortive_close`).
//!
//! Why spread: `connect()` without `bind()` makes the kernel search the ephemeral range for
//! a source port whose (source, destination) 4-tuple is free, probing the ports our earlier
//! connections to the same server already hold one by one (`__inet_hash_connect`). With
//! ~19,000 connections to one server that search took ~4.5 s of kernel time, 95 % of the
//! bench's core, just to connect. The whole of 127.0.0.0/8 is loopback: bound to
//! `127.0.0.k` with `IP_BIND_ADDRESS_NO_PORT` (the port is still chosen at `connect()`),
//! each source address holds only a few hundred connections and the first port tried is
//! free. It also lifts the ~28k-ports-per-destination ceiling and is not disturbed by
//! other processes' TIME_WAIT entries on 127.0.0.1.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::FromRawFd;

use mio::net::TcpStream;

/// Source addresses `127.0.0.2 ..= 127.0.0.254`, round-robin; off once binding one failed
/// (a loopback without the whole /8), after which the kernel picks as usual.
pub struct Sources {
    next: u8,
    enabled: bool,
}

impl Default for Sources {
    fn default() -> Self {
        Sources { next: 2, enabled: true }
    }
}

impl Sources {
    fn take(&mut self) -> Ipv4Addr {
        let ip = Ipv4Addr::new(127, 0, 0, self.next);
        self.next = if self.next >= 254 { 2 } else { self.next + 1 };
        ip
    }
}

/// Starts a non-blocking connection to `addr`; to an IPv4 loopback address from the next
/// source address of `sources` (see the module comment).
pub fn connect(addr: SocketAddr, sources: &mut Sources) -> io::Result<TcpStream> {
    let IpAddr::V4(ip) = addr.ip() else { return TcpStream::connect(addr) };
    if !ip.is_loopback() || !sources.enabled {
        return TcpStream::connect(addr);
    }
    // SAFETY: plain socket calls on a descriptor we own; the std TcpStream takes it over at
    // once, so it is closed on every path.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = std::net::TcpStream::from_raw_fd(fd);
        let one: libc::c_int = 1;
        libc::setsockopt(
            fd,
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as u32,
        );
        let local = sockaddr(sources.take(), 0);
        if libc::bind(fd, (&local as *const libc::sockaddr_in).cast(), size_of::<libc::sockaddr_in>() as u32) != 0 {
            sources.enabled = false;
            drop(stream);
            return TcpStream::connect(addr);
        }
        let remote = sockaddr(ip, addr.port());
        if libc::connect(fd, (&remote as *const libc::sockaddr_in).cast(), size_of::<libc::sockaddr_in>() as u32) != 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINPROGRESS) {
                return Err(e);
            }
        }
        Ok(TcpStream::from_std(stream))
    }
}

fn sockaddr(ip: Ipv4Addr, port: u16) -> libc::sockaddr_in {
    libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr { s_addr: u32::from_ne_bytes(ip.octets()) },
        sin_zero: [0; 8],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_cycle() {
        let mut s = Sources::default();
        assert_eq!(s.take(), Ipv4Addr::new(127, 0, 0, 2));
        for _ in 0..252 {
            s.take();
        }
        assert_eq!(s.take(), Ipv4Addr::new(127, 0, 0, 2));
    }

    #[test]
    fn connects_to_a_loopback_listener() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut sources = Sources::default();
        let stream = connect(listener.local_addr().unwrap(), &mut sources).unwrap();
        let (accepted, peer) = listener.accept().unwrap();
        assert_eq!(stream.local_addr().unwrap(), peer);
        danmaku_wall::kit::sock::set_abortive_close(&stream).unwrap();
        drop((stream, accepted));
    }
}
