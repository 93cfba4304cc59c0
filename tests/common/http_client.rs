//! HTTP/1.1 over a raw connection, as a test sees it: a request's bytes sent as they are, the
//! response parsed (RFC 9112 §6.3: its length from Content-Length, or up to the close).

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use danmaku_wall::kit::client::{READ_TIMEOUT, Ws, read_some};

use super::tcp::connect;

/// An HTTP response as read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `http()` only: bytes that followed the response before the server closed (should be
    /// none), when the response said `Connection: close`.
    pub extra: Vec<u8>,
    /// `http()` only: the server closed the connection after the response.
    pub closed: bool,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length").map(|v| v.trim().parse().expect("numeric Content-Length"))
    }

    pub fn says_close(&self) -> bool {
        self.header("connection").is_some_and(|v| v.to_ascii_lowercase().contains("close"))
    }
}

/// A client connection for one or more HTTP exchanges.
pub struct HttpClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpClient {
    /// The connection as a WebSocket, once a 101 has been read: bytes already read after it
    /// are kept.
    pub fn into_ws(self) -> Ws {
        Ws::from_parts(self.stream, self.buf)
    }

    pub fn connect(addr: SocketAddr) -> HttpClient {
        HttpClient { stream: connect(addr), buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Reads one response; `head_only` for the answer to a HEAD request. Panics on timeout or
    /// on EOF before the response is complete.
    pub fn read_response(&mut self, head_only: bool) -> Response {
        match self.try_read_response(head_only, READ_TIMEOUT) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_read_response(&mut self, head_only: bool, timeout: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(resp) = self.parse_buffered(head_only, false)? {
                return Ok(resp);
            }
            match read_some(&mut self.stream, &mut self.buf, deadline) {
                Some(0) => {
                    // EOF: a response without Content-Length ends here.
                    return match self.parse_buffered(head_only, true)? {
                        Some(resp) => Ok(resp),
                        None => {
                            Err(format!("EOF before a complete response; got {:?}", String::from_utf8_lossy(&self.buf)))
                        }
                    };
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "timed out waiting for a response; got {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            }
        }
    }

    fn parse_buffered(&mut self, head_only: bool, at_eof: bool) -> Result<Option<Response>, String> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut slots);
        let head_len = match resp.parse(&self.buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("malformed response ({e}): {:?}", String::from_utf8_lossy(&self.buf))),
        };
        let status = resp.code.unwrap();
        let reason = resp.reason.unwrap_or("").to_string();
        let headers: Vec<(String, String)> =
            resp.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned())).collect();
        let mut r = Response { status, reason, headers, body: Vec::new(), extra: Vec::new(), closed: false };
        let body_len = if head_only || status < 200 || status == 204 || status == 304 {
            0
        } else if let Some(n) = r.content_length() {
            n
        } else if at_eof {
            self.buf.len() - head_len
        } else {
            return Ok(None); // read until close
        };
        if self.buf.len() < head_len + body_len {
            return Ok(None);
        }
        r.body = self.buf[head_len..head_len + body_len].to_vec();
        self.buf.drain(..head_len + body_len);
        Ok(Some(r))
    }

    /// Everything until the server closes (buffered bytes included). Panics after 5 s.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        match self.eof_within(READ_TIMEOUT) {
            Some(bytes) => bytes,
            None => panic!(
                "server did not close the connection within {READ_TIMEOUT:?}; got {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Everything until the server closes, or `None` if it has not closed within `timeout`.
    pub fn eof_within(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            match read_some(&mut self.stream, &mut self.buf, deadline) {
                Some(0) => return Some(std::mem::take(&mut self.buf)),
                Some(_) => {}
                None => return None,
            }
        }
    }
}

/// Sends `raw` on a fresh connection and reads one response (a request starting with `HEAD `
/// gets no body). If the response says `Connection: close`, also reads until the server
/// closes: `closed` and `extra` say what happened.
pub fn http(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut client = HttpClient::connect(addr);
    client.send(raw);
    let mut resp = client.read_response(raw.starts_with(b"HEAD "));
    if resp.says_close() {
        resp.extra = client.read_to_eof();
        resp.closed = true;
    }
    resp
}

/// `GET path` with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    http(addr, format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
}
