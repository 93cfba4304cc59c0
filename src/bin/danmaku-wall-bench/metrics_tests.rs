use std::net::{SocketAddr, TcpListener};
use std::thread;

use super::*;

/// What the server writes (src/app/metrics.rs), abridged.
const GOLDEN: &str = "\
# HELP danmaku_deliveries_total Danmaku frames queued to connections.
# TYPE danmaku_deliveries_total counter
danmaku_deliveries_total 3000
# HELP danmaku_socket_writes_total Write system calls to client sockets.
# TYPE danmaku_socket_writes_total counter
danmaku_socket_writes_total 250
# HELP danmaku_closed_total Closed connections by reason.
# TYPE danmaku_closed_total counter
danmaku_closed_total{reason=\"peer\"} 2
";

#[test]
fn the_sample_of_the_golden_exposition() {
    assert_eq!(sample_value(GOLDEN, SOCKET_WRITES), Ok(250));
    assert_eq!(sample_value(GOLDEN, "danmaku_deliveries_total"), Ok(3000));
}

#[test]
fn comments_are_not_samples() {
    // HELP and TYPE name the metric too; only the sample line counts.
    let text = "# HELP danmaku_socket_writes_total 7\n# TYPE danmaku_socket_writes_total counter\n";
    assert_eq!(sample_value(text, SOCKET_WRITES), Err("no danmaku_socket_writes_total sample".to_string()));
}

#[test]
fn a_missing_metric_is_an_error() {
    let text = GOLDEN.replace("danmaku_socket_writes_total 250\n", "");
    let err = sample_value(&text, SOCKET_WRITES).unwrap_err();
    assert_eq!(err, "no danmaku_socket_writes_total sample");
    assert!(sample_value("", SOCKET_WRITES).is_err());
}

#[test]
fn malformed_values_are_errors() {
    for value in ["", "x", "-1", "2.5", "NaN", "+Inf", "1e30", "0x10"] {
        let text = format!("danmaku_socket_writes_total {value}\n");
        let err = sample_value(&text, SOCKET_WRITES).unwrap_err();
        assert!(err.contains("is not a count"), "{value}: {err}");
    }
}

#[test]
fn other_forms_of_a_whole_count() {
    for (line, want) in [
        ("danmaku_socket_writes_total 0", 0),
        ("danmaku_socket_writes_total\t42", 42),
        ("  danmaku_socket_writes_total   42  ", 42),
        ("danmaku_socket_writes_total 2.5e+06", 2_500_000),
        ("danmaku_socket_writes_total 1234 1712345678000", 1234),
        ("danmaku_socket_writes_total{} 9", 9),
        ("danmaku_socket_writes_total { } 9", 9),
        ("danmaku_socket_writes_total 18446744073709551615", u64::MAX),
    ] {
        assert_eq!(sample_value(line, SOCKET_WRITES), Ok(want), "{line}");
    }
}

#[test]
fn labelled_series_and_longer_names_are_other_series() {
    let text = "danmaku_socket_writes_total_created 1700000000\n\
                danmaku_socket_writes_total{node=\"a\"} 5\n\
                danmaku_socket_writes_totalx 6\n\
                danmaku_socket_writes_total 7\n";
    assert_eq!(sample_value(text, SOCKET_WRITES), Ok(7));
    let only_labelled = "danmaku_socket_writes_total{node=\"a\"} 5\n";
    assert!(sample_value(only_labelled, SOCKET_WRITES).is_err());
    // An unclosed label set is not the sample either.
    assert!(sample_value("danmaku_socket_writes_total{ 5\n", SOCKET_WRITES).is_err());
}

#[test]
fn answers_split_into_head_and_body() {
    let ok = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain; version=0.0.4\r\ncontent-length: 4\r\n\r\nx 1\n";
    assert_eq!(body_of(ok), Ok("x 1\n".to_string()));
    assert_eq!(body_of(b"HTTP/1.1 404 Not Found\r\n\r\n"), Err("status 404 (is the server's --metrics on?)".into()));
    assert_eq!(body_of(b"HTTP/1.1 503 Service Unavailable\r\n\r\n"), Err("status 503".into()));
    assert_eq!(body_of(b"HTTP/1.1 200 OK\r\ncontent-len"), Err("no complete head".into()));
    assert_eq!(body_of(b""), Err("no answer".into()));
    assert_eq!(body_of(b"SSH-2.0-x\r\n\r\n"), Err("not an HTTP/1.x answer".into()));
    assert_eq!(body_of(b"HTTP/1.1 200 OK\r\n\r\n\xff"), Err("the body is not UTF-8".into()));
}

/// The writes of every node together.
fn socket_writes(nodes: &[Target]) -> Result<u64, String> {
    counted(nodes).map(|c| c.socket_writes)
}

/// A one-shot HTTP server on a free port that answers `answer` in pieces of `piece` bytes,
/// then closes; returns its target.
fn one_shot(answer: &'static [u8], piece: usize) -> (Target, thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).unwrap();
        for chunk in answer.chunks(piece) {
            s.write_all(chunk).unwrap();
            s.flush().unwrap();
        }
        String::from_utf8_lossy(&buf[..n]).into_owned()
    });
    (Target { addr, host: format!("wall.test:{}", addr.port()) }, server)
}

#[test]
fn fetch_reads_the_whole_answer_and_sends_a_plain_request() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 30\r\nconnection: close\r\n\r\ndanmaku_socket_writes_total 5\n";
    for piece in [1, 7, answer.len()] {
        let (target, server) = one_shot(answer, piece);
        assert_eq!(socket_writes(std::slice::from_ref(&target)), Ok(5), "in pieces of {piece}");
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /metrics HTTP/1.1\r\n"), "{request}");
        assert!(request.contains(&format!("\r\nHost: {}\r\n", target.host)), "{request}");
        assert!(request.contains("\r\nConnection: close\r\n"), "{request}");
    }
}

#[test]
fn every_node_must_answer_with_the_counter() {
    let ok = b"HTTP/1.1 200 OK\r\n\r\ndanmaku_socket_writes_total 5\n";
    let (a, sa) = one_shot(ok, 64);
    let (b, sb) = one_shot(ok, 64);
    assert_eq!(socket_writes(&[a, b]), Ok(10), "the sum of the nodes");
    sa.join().unwrap();
    sb.join().unwrap();
    let (a, sa) = one_shot(ok, 64);
    let (b, sb) = one_shot(b"HTTP/1.1 200 OK\r\n\r\ndanmaku_deliveries_total 5\n", 64);
    let err = socket_writes(&[a, b.clone()]).unwrap_err();
    assert_eq!(err, format!("{}: no danmaku_socket_writes_total sample", b.addr));
    sa.join().unwrap();
    sb.join().unwrap();
    assert_eq!(socket_writes(&[]), Err("no node to ask".to_string()));
}

const WITH_PASSES: &[u8] = b"HTTP/1.1 200 OK\r\n\r\ndanmaku_socket_writes_total 5\n\
    danmaku_flush_pass_seconds_bucket{le=\"0.005\"} 3\ndanmaku_flush_pass_seconds_bucket{le=\"+Inf\"} 4\n\
    danmaku_flush_pass_seconds_sum 0.02\ndanmaku_flush_pass_seconds_count 4\n";

#[test]
fn the_flush_passes_of_every_node_add_up() {
    let (a, sa) = one_shot(WITH_PASSES, 64);
    let (b, sb) = one_shot(WITH_PASSES, 64);
    let both = counted(&[a, b]).unwrap();
    sa.join().unwrap();
    sb.join().unwrap();
    assert_eq!(both.socket_writes, 10);
    let passes = both.flush_passes.unwrap();
    assert_eq!((passes.cumulative.as_slice(), passes.count, passes.sum), (&[6, 8][..], 8, 0.04));
    // A node without the histogram: the writes still count, the passes are unknown.
    let (a, sa) = one_shot(WITH_PASSES, 64);
    let (b, sb) = one_shot(b"HTTP/1.1 200 OK\r\n\r\ndanmaku_socket_writes_total 5\n", 64);
    let mixed = counted(&[a, b.clone()]).unwrap();
    sa.join().unwrap();
    sb.join().unwrap();
    assert_eq!(mixed.socket_writes, 10);
    let why = format!("{}: no danmaku_flush_pass_seconds_bucket{{le=\"+Inf\"}} sample", b.addr);
    assert_eq!(mixed.flush_passes, Err(why));
}

#[test]
fn a_refused_or_silent_server_is_an_error_in_time() {
    // Bound, never listening: refused.
    let socket = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = socket.local_addr().unwrap();
    drop(socket);
    let refused = Target { addr, host: addr.to_string() };
    assert!(fetch(&refused, TIMEOUT).unwrap_err().starts_with(&format!("{addr}: ")));
    // Listening but never answering: the timeout ends the wait.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = Target { addr, host: addr.to_string() };
    let start = Instant::now();
    let err = fetch(&silent, Duration::from_millis(200)).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "waited {:?}", start.elapsed());
    assert_eq!(err, format!("{addr}: no complete /metrics answer within 200ms"));
    drop(listener);
}
