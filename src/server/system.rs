//! The few things the shell needs from the operating system that std and mio do not wrap:
//! SIGINT/SIGTERM turned into a wake-up of the event loop, and the open-file limit.
//! This is the only `unsafe` in the crate.

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
