//! Raw TCP for the tests: connections with the test timeouts set, an upgrade request to send
//! by hand, a reset instead of a FIN, and a connection with a small receive window.

use std::net::{SocketAddr, TcpStream};

use danmaku_wall::kit::client::READ_TIMEOUT;
use danmaku_wall::kit::{sock, upgrade};

/// A TCP connection with the test timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    danmaku_wall::kit::client::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// A client request upgrading to WebSocket on `path`, with a fresh key.
pub fn upgrade_request(addr: SocketAddr, path: &str) -> Vec<u8> {
    upgrade::upgrade_request(&addr.to_string(), path, &upgrade::fresh_key())
}

/// Closes `stream` with a TCP reset instead of a FIN (SO_LINGER on, zero seconds).
pub fn abort_with_rst(stream: TcpStream) {
    sock::set_abortive_close(&stream).unwrap_or_else(|e| panic!("SO_LINGER: {e}"));
    drop(stream);
}

/// A TCP connection (test timeouts set) whose receive buffer is `rcvbuf` bytes (see
/// [`sock::connect_with_rcvbuf`]).
pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    let stream = sock::connect_with_rcvbuf(addr, rcvbuf).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}
