//! The server's own count of its write calls: `danmaku_socket_writes_total` from `GET /metrics`
//! (and, read in the same answer, its flush passes: [`crate::buckets`])
//! (INTERFACE.md, "Operating it"; the server has it with `--metrics`, which `--spawn` passes).
//! A server that writes with `send(2)`/`sendmsg(2)` shows none of those calls in
//! `/proc/PID/io` (`syscw` counts `write(2)`/`writev(2)`), so this counter is the figure to
//! divide deliveries by; `/proc` stays the fallback for servers without it.
//!
//! Asked only at the marks around the measured window, never in the hot loop: a blocking
//! request on a new connection, `Connection: close`, read to the end.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::buckets::{Buckets, FLUSH_PASS};
use crate::client::Target;
use crate::cluster::status_code;

/// The counter of write system calls to client sockets.
pub const SOCKET_WRITES: &str = "danmaku_socket_writes_total";

/// Longest wait for one node's `/metrics` answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Largest answer read: the server's exposition is a few KiB; more is not ours.
const MAX_ANSWER: usize = 1 << 20;

/// The value of the unlabelled sample `name` in a Prometheus text exposition (format 0.0.4:
/// `# ` lines are comments, HELP and TYPE; a sample line is `name[{labels}] value
/// [timestamp]`, tokens separated by blanks or tabs). A series with labels is another series
/// and skipped; `{}` is no labels. The value must be a whole count (`250`, `2.5e+06`).
pub fn sample_value(text: &str, name: &str) -> Result<u64, String> {
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(rest) = line.strip_prefix(name) else { continue };
        let rest = match rest.trim_start().strip_prefix('{') {
            // `{}`: no labels; any label makes another series.
            Some(labels) => match labels.split_once('}') {
                Some((inside, after)) if inside.trim().is_empty() => after,
                _ => continue,
            },
            // Another metric whose name starts with this one (`name_created`).
            None if !rest.is_empty() && !rest.starts_with([' ', '\t']) => continue,
            None => rest,
        };
        let value = rest.split_ascii_whitespace().next().unwrap_or("");
        return count(value).ok_or_else(|| format!("{name}: `{value}` is not a count"));
    }
    Err(format!("no {name} sample"))
}

/// A whole, non-negative sample value as an integer.
pub fn count(value: &str) -> Option<u64> {
    if let Ok(n) = value.parse::<u64>() {
        return Some(n);
    }
    let x: f64 = value.parse().ok()?;
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < u64::MAX as f64).then_some(x as u64)
}

/// The body of `GET /metrics` on `target` (RFC 9112: a request on a new connection with
/// `Connection: close`, the answer read until the server closes), if the status is `200`.
pub fn fetch(target: &Target, timeout: Duration) -> Result<String, String> {
    let deadline = Instant::now() + timeout;
    let at = target.addr;
    let mut stream = TcpStream::connect_timeout(&at, timeout).map_err(|e| format!("{at}: {e}"))?;
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", target.host);
    stream.write_all(request.as_bytes()).map_err(|e| format!("{at}: {e}"))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let late = || format!("{at}: no complete /metrics answer within {timeout:?}");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(late());
        }
        stream.set_read_timeout(Some(left)).map_err(|e| format!("{at}: {e}"))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if answer.len() + n > MAX_ANSWER => {
                return Err(format!("{at}: /metrics answer over {MAX_ANSWER} bytes"));
            }
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => return Err(late()),
            Err(e) => return Err(format!("{at}: reading /metrics: {e}")),
        }
    }
    body_of(&answer).map_err(|why| format!("{at}: GET /metrics: {why}"))
}

/// The body of a complete `200` answer (head and body split at the first empty line,
/// RFC 9112 §2.1).
fn body_of(answer: &[u8]) -> Result<String, String> {
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(if answer.is_empty() { "no answer".to_string() } else { "no complete head".to_string() });
    };
    match status_code(answer) {
        Some(200) => String::from_utf8(answer[end + 4..].to_vec()).map_err(|_| "the body is not UTF-8".to_string()),
        Some(404) => Err("status 404 (is the server's --metrics on?)".to_string()),
        Some(code) => Err(format!("status {code}")),
        None => Err("not an HTTP/1.x answer".to_string()),
    }
}

/// What the nodes' `/metrics` said at one mark, every node's figures added up.
#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// [`SOCKET_WRITES`].
    pub socket_writes: u64,
    /// [`FLUSH_PASS`], or why it is not known (a server without it still counts its writes).
    pub flush_passes: Result<Buckets, String>,
}

/// [`SOCKET_WRITES`] and [`FLUSH_PASS`] of every node together, each node asked once at its
/// own address; the first node that does not answer with the counter makes the whole reading
/// unknown, and the first without the histogram the histogram.
pub fn counted(nodes: &[Target]) -> Result<Counted, String> {
    if nodes.is_empty() {
        return Err("no node to ask".to_string());
    }
    let mut total = Counted { socket_writes: 0, flush_passes: Ok(Buckets::default()) };
    for node in nodes {
        let text = fetch(node, TIMEOUT)?;
        let n = sample_value(&text, SOCKET_WRITES).map_err(|why| format!("{}: {why}", node.addr))?;
        total.socket_writes = total.socket_writes.saturating_add(n);
        if let Ok(sum) = &mut total.flush_passes {
            let node_passes = Buckets::parse(&text, FLUSH_PASS).and_then(|b| sum.add(&b));
            if let Err(why) = node_passes {
                total.flush_passes = Err(format!("{}: {why}", node.addr));
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
