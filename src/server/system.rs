//! The few things the shell needs from the operating system that std and mio do not wrap:
//! SIGINT/SIGTERM turned into a wake-up of the event loop, and the open-file limit.
//! Also the socket writes (`send`/`sendmsg`). This is the only `unsafe` in the crate.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static SHUTDOWN: AtomicBool = AtomicBool::new(false);
static WAKER: OnceLock<mio::Waker> = OnceLock::new();

extern "C" fn on_signal(_: libc::c_int) {
    // Async-signal-safe: an atomic store and, through the waker, one write(2) to an eventfd.
    SHUTDOWN.store(true, Ordering::SeqCst);
    if let Some(waker) = WAKER.get() {
        let _ = waker.wake();
    }
}

/// Routes SIGINT and SIGTERM to `waker` and [`shutdown_requested`].
pub fn install_signal_handlers(waker: mio::Waker) -> std::io::Result<()> {
    let _ = WAKER.set(waker);
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `sigaction` is called with a zeroed struct whose handler is a plain
        // `extern "C" fn` that only touches atomics and an eventfd (see `on_signal`).
        let rc = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether SIGINT or SIGTERM has arrived.
pub fn shutdown_requested() -> bool {
    SHUTDOWN.load(Ordering::SeqCst)
}

/// Sets the listening socket's queue of not-yet-accepted connections (mio uses std's 128;
/// a burst of thousands of walls reconnecting at once would overflow it). The kernel caps it
/// at `net.core.somaxconn`.
pub fn set_listen_backlog(listener: &impl std::os::fd::AsRawFd, backlog: i32) -> std::io::Result<()> {
    // SAFETY: listen(2) on a descriptor we own; calling it again on a listening socket only
    // changes the queue length.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit, so the server can hold as many
/// connections as the process may open. Returns (soft, hard) after the change.
pub fn raise_fd_limit() -> std::io::Result<(u64, u64)> {
    // SAFETY: getrlimit/setrlimit read and write the plain struct passed by pointer.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        Ok((lim.rlim_cur as u64, lim.rlim_max as u64))
    }
}

/// A listening socket on `addr` with `SO_REUSEADDR` and, with `reuse_port`, `SO_REUSEPORT`
/// (socket(7): every socket bound to the address must set it before `bind`, and the kernel
/// then spreads incoming connections over them), listening with `backlog`.
pub fn bind_listener(
    addr: std::net::SocketAddr,
    reuse_port: bool,
    backlog: i32,
) -> std::io::Result<mio::net::TcpListener> {
    use std::os::fd::FromRawFd;
    let last = std::io::Error::last_os_error;
    let family = if addr.is_ipv4() { libc::AF_INET } else { libc::AF_INET6 };
    // SAFETY: socket(2) returns a new descriptor or -1; we own it from here on.
    let fd = unsafe { libc::socket(family, libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last());
    }
    // SAFETY: `fd` is a fresh socket that nothing else owns; the listener closes it on drop.
    let listener = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    let mut options = vec![libc::SO_REUSEADDR];
    if reuse_port {
        options.push(libc::SO_REUSEPORT);
    }
    for option in options {
        let on: libc::c_int = 1;
        let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: setsockopt(2) reads `len` bytes from a live c_int.
        if unsafe { libc::setsockopt(fd, libc::SOL_SOCKET, option, (&on as *const libc::c_int).cast(), len) } != 0 {
            return Err(last());
        }
    }
    // SAFETY: a zeroed sockaddr_storage is a valid value; we fill in the family's fields.
    let mut storage: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let len = match addr {
        std::net::SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr.
            let sin = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from_ne_bytes(a.ip().octets()) };
            std::mem::size_of::<libc::sockaddr_in>()
        }
        std::net::SocketAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(&mut storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            std::mem::size_of::<libc::sockaddr_in6>()
        }
    };
    // SAFETY: bind(2) reads `len` bytes of the address we filled in; listen(2) on our socket.
    unsafe {
        if libc::bind(fd, (&storage as *const libc::sockaddr_storage).cast(), len as libc::socklen_t) != 0 {
            return Err(last());
        }
        if libc::listen(fd, backlog) != 0 {
            return Err(last());
        }
    }
    Ok(mio::net::TcpListener::from_std(listener))
}

/// Writes to a connected socket with `send(2)` (one buffer) or `sendmsg(2)` (several), not
/// `write`/`writev`: the socket calls skip the file layer (position lock, fsnotify), about
/// 5% of a loopback write's cost, measured; `MSG_NOSIGNAL` keeps a peer's reset from
/// raising SIGPIPE (std ignores it anyway; this does not rely on that).
/// `writes` counts the calls (the `danmaku_socket_writes_total` metric).
pub struct SocketWriter<'a, S: std::os::fd::AsRawFd> {
    pub socket: &'a S,
    pub writes: &'a mut u64,
}

impl<S: std::os::fd::AsRawFd> std::io::Write for SocketWriter<'_, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let fd = self.socket.as_raw_fd();
        *self.writes += 1;
        // SAFETY: `buf` is valid for `buf.len()` bytes for the duration of the call.
        let n = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 { Err(std::io::Error::last_os_error()) } else { Ok(n as usize) }
    }

    fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
        if bufs.len() == 1 {
            return self.write(&bufs[0]);
        }
        *self.writes += 1;
        // SAFETY: `IoSlice` is ABI-compatible with `iovec` (std documents it); the msghdr
        // points at `bufs`, which outlives the call; no name, no control data.
        let n = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
            msg.msg_iovlen = bufs.len().min(libc::c_int::MAX as usize) as _;
            libc::sendmsg(self.socket.as_raw_fd(), &msg, libc::MSG_NOSIGNAL)
        };
        if n < 0 { Err(std::io::Error::last_os_error()) } else { Ok(n as usize) }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
