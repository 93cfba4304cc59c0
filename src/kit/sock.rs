//! Socket options std does not offer: closing with a reset, and connecting with a small
//! receive window.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};

/// Makes the coming close an abortive one (`SO_LINGER` on, zero seconds): the peer gets a
/// reset at once and no TIME_WAIT entry holds the local port afterwards.
pub fn set_abortive_close(socket: &impl AsRawFd) -> io::Result<()> {
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt reads the properly sized struct passed by pointer.
    let rc = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

/// A blocking connection to an IPv4 `addr` whose receive buffer is `rcvbuf` bytes, set before
/// connecting so that the window it advertises stays small: a client that does not read fills
/// up after a few KiB instead of the megabytes Linux would otherwise buffer for it.
pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> io::Result<TcpStream> {
    let SocketAddr::V4(v4) = addr else {
        return Err(io::Error::new(io::ErrorKind::Unsupported, format!("IPv4 only: {addr}")));
    };
    // SAFETY: plain socket calls on a descriptor we create and hand at once to TcpStream, which
    // owns (and closes) it from then on; the structs passed are properly sized.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let stream = TcpStream::from_raw_fd(fd);
        let size = rcvbuf as libc::c_int;
        let len = size_of::<libc::c_int>() as libc::socklen_t;
        if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, (&size as *const libc::c_int).cast(), len) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = v4.port().to_be();
        sin.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
        let len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
        if libc::connect(fd, (&sin as *const libc::sockaddr_in).cast(), len) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stream)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn small_window_and_reset() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream = connect_with_rcvbuf(listener.local_addr().unwrap(), 4096).unwrap();
        let (mut accepted, _) = listener.accept().unwrap();
        set_abortive_close(&stream).unwrap();
        drop(stream);
        let mut buf = [0u8; 8];
        let err = accepted.read(&mut buf).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    }
}
