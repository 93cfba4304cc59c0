//! Functional tests of `danmaku-wall-bench` against the real server (spawned by the bench's
//! own `--spawn`). Small numbers: these check the tool counts and verifies correctly, not
//! how fast anything is.

use std::process::{Command, Output};

const BENCH: &str = env!("CARGO_BIN_EXE_danmaku-wall-bench");
const SERVER: &str = env!("CARGO_BIN_EXE_danmaku-wall");

fn bench(args: &[&str]) -> Output {
    let output = Command::new(BENCH).args(args).output().expect("run the bench");
    eprintln!(
        "--- stdout\n{}--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// Runs a mode against a spawned server and returns its JSON line (the last line).
fn bench_json(mode_args: &[&str]) -> String {
    bench_text_json(mode_args).1
}

/// Runs a mode against a spawned server; returns its text output and its JSON line.
fn bench_text_json(mode_args: &[&str]) -> (String, String) {
    let mut args = mode_args.to_vec();
    args.extend(["--spawn", SERVER, "--json"]);
    let output = bench(&args);
    let stdout = String::from_utf8(output.stdout).expect("UTF-8 output");
    let Some(last) = stdout.lines().last().map(str::to_string) else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let hint = if args.contains(&"--redis-nodes") {
            " (--redis-nodes needs the server's cluster mode, `--redis`, and redis-server installed)"
        } else {
            ""
        };
        panic!("the bench printed nothing, exit {:?}{hint}; stderr:\n{stderr}", output.status.code());
    };
    assert!(last.starts_with('{') && last.ends_with('}'), "last line is not JSON: {last}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with('{')).count(), 1, "exactly one JSON line");
    assert_eq!(output.status.code(), Some(0), "every check should pass");
    (stdout, last)
}

/// The raw text of `"key":VALUE` (the first occurrence; nested keys are unique here).
fn raw<'a>(json: &'a str, key: &str) -> &'a str {
    let needle = format!("\"{key}\":");
    let at = json.find(&needle).unwrap_or_else(|| panic!("no {key} in {json}")) + needle.len();
    let rest = &json[at..];
    let end = rest.find([',', '}']).unwrap_or(rest.len());
    &rest[..end]
}

fn num(json: &str, key: &str) -> f64 {
    let v = raw(json, key);
    v.parse().unwrap_or_else(|_| panic!("{key} is {v}, not a number"))
}

/// [`fanout_checks_from`] with the server's own count of its writes, as every node of a
/// spawned server (`--metrics`) answers at its own port.
fn fanout_checks(json: &str, conns: f64) {
    fanout_checks_from(json, conns, "danmaku_socket_writes_total");
}

/// The checks of every fanout run; `writes_source` is where the server's write calls should
/// have been counted.
fn fanout_checks_from(json: &str, conns: f64, writes_source: &str) {
    assert!(matches!(raw(json, "mode"), "\"fanout\"" | "\"bigroom\""), "{json}");
    let deliveries = num(json, "deliveries");
    assert!(deliveries > 0.0);
    assert_eq!(deliveries, num(json, "expected"));
    // Every post goes to every connection, publishers included.
    assert_eq!(deliveries, num(json, "posts") * conns);
    assert_eq!(num(json, "lost"), 0.0);
    assert_eq!(num(json, "connect_failures"), 0.0);
    assert_eq!(num(json, "errors"), 0.0);
    assert_eq!(num(json, "disconnects"), 0.0);
    let (p50, p99, max) = (num(json, "p50"), num(json, "p99"), num(json, "max"));
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{p50} {p99} {max}");
    assert!(num(json, "server_cpu_s") >= 0.0);
    assert!(num(json, "server_rss_kib_before") > 0.0 && num(json, "server_rss_kib_after") > 0.0);
    assert!(num(json, "bench_cpu_pct") >= 0.0);
    assert!(matches!(raw(json, "bench_saturated"), "true" | "false"));
    assert_eq!(raw(json, "server_writes_source"), format!("\"{writes_source}\""), "{json}");
    if writes_source == "danmaku_socket_writes_total" {
        // The server's own count (send/sendmsg, which /proc's syscw does not see); every write
        // carries at least one whole delivery (a frame is never split into header and payload
        // writes), besides the answer to the opening mark's /metrics: one write per node.
        let nodes = if raw(json, "redis_nodes") == "null" { 1.0 } else { num(json, "redis_nodes") };
        let writes = num(json, "server_writes");
        assert!(writes > 0.0, "{json}");
        assert!(writes - nodes <= num(json, "deliveries"), "{nodes} node(s): {json}");
        // The flush-pass histogram comes in the same /metrics answers.
        assert!(num(json, "flush_passes") >= 0.0, "{json}");
    } else {
        assert!(num(json, "server_writes") >= 0.0, "{json}");
        assert_eq!(raw(json, "flush_passes"), "null", "no /metrics, no flush passes: {json}");
    }
    // The hello of each connection is counted apart, never as a delivery.
    assert!(num(json, "hellos") <= conns, "{json}");
}

/// A short fanout run with `args` after the common small-room ones.
fn short_fanout(args: &[&str]) -> String {
    let mut all = vec!["fanout", "--subscribers", "20", "--publishers", "2", "--duration", "1", "--warmup", "0.2"];
    all.extend(args);
    bench_json(&all)
}

#[test]
fn fanout_at_a_fixed_rate_delivers_everything() {
    let (text, json) = bench_text_json(&[
        "fanout",
        "--subscribers",
        "20",
        "--publishers",
        "2",
        "--rate",
        "50",
        "--duration",
        "1",
        "--warmup",
        "0.2",
    ]);
    fanout_checks(&json, 22.0);
    assert_eq!(raw(&json, "rate"), "50");
    // The text names the source of the write count, and no warning says none was counted.
    let line = text.lines().find(|l| l.trim_start().starts_with("server write calls")).expect("a write-calls line");
    assert!(line.ends_with(" in window (danmaku_socket_writes_total)"), "{line}");
    assert!(!text.contains("no server write calls"), "{text}");
    // 50 posts/s for 1 s, give or take the edges of the window (and a loaded machine: a
    // publisher far behind skips ahead rather than bursting).
    let posts = num(&json, "posts");
    assert!((20.0..=60.0).contains(&posts), "{posts} posts");
}

#[test]
fn fanout_at_max_rate_keeps_its_window() {
    let json = bench_json(&[
        "fanout",
        "--subscribers",
        "20",
        "--publishers",
        "2",
        "--rate",
        "max",
        "--window",
        "4",
        "--duration",
        "1",
        "--warmup",
        "0.2",
    ]);
    fanout_checks(&json, 22.0);
    assert_eq!(raw(&json, "rate"), "\"max\"");
    assert_eq!(num(&json, "window"), 4.0);
    assert!(num(&json, "posts") > 50.0, "max rate should beat a trickle");
    assert_eq!(raw(&json, "arrival"), "\"burst\"");
}

#[test]
fn fanout_with_a_sliding_window_delivers_everything() {
    let json = short_fanout(&["--rate", "max", "--arrival", "sliding", "--window", "4"]);
    fanout_checks(&json, 22.0);
    assert_eq!(raw(&json, "arrival"), "\"sliding\"");
    assert!(num(&json, "posts") > 50.0, "a sliding window should beat a trickle: {json}");
}

#[test]
fn fanout_with_poisson_arrivals_delivers_everything() {
    let json = short_fanout(&["--publishers", "10", "--rate", "100", "--arrival", "poisson"]);
    fanout_checks(&json, 30.0);
    assert_eq!(raw(&json, "arrival"), "\"poisson\"");
    // 100 posts/s on average for 1 s: random, so a wide band.
    let posts = num(&json, "posts");
    assert!((30.0..=200.0).contains(&posts), "{posts} posts");
}

#[test]
fn bigroom_records_every_latency() {
    let dir = std::env::temp_dir().join(format!("bench-latencies-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("latencies.txt");
    let file_arg = file.to_str().unwrap();
    let (text, json) = bench_text_json(&[
        "bigroom",
        "--subscribers",
        "70",
        "--duration",
        "1",
        "--warmup",
        "0.2",
        "--latencies",
        file_arg,
    ]);
    assert_eq!(raw(&json, "mode"), "\"bigroom\"");
    assert_eq!((num(&json, "publishers"), num(&json, "rate")), (1.0, 50.0));
    fanout_checks(&json, 71.0);
    // 71 walls, at least the 64 a flush pass needs to be counted in danmaku_flush_pass_seconds.
    assert!(num(&json, "flush_passes") > 0.0, "{json}");
    let (mean, p50, p99) =
        (num(&json, "flush_pass_mean_ms"), num(&json, "flush_pass_p50_le_ms"), num(&json, "flush_pass_p99_le_ms"));
    assert!(mean > 0.0 && 0.0 < p50 && p50 <= p99, "{json}");
    let line = text.lines().find(|l| l.trim_start().starts_with("flush pass")).expect("a flush pass line");
    assert!(line.contains(" passes, mean ") && line.contains(&format!("p50 ≤ {p50} ms")), "{line}");
    let text = std::fs::read_to_string(&file).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let latencies: Vec<u64> = text.lines().map(|l| l.parse().expect("microseconds")).collect();
    assert_eq!(latencies.len() as f64, num(&json, "deliveries"), "one line per delivery");
    assert!(latencies.iter().all(|&us| us < 10_000_000), "a latency over 10 s");
}

/// `--redis-nodes 2`: a private Redis and two nodes of the real server (needs the server's
/// cluster mode, `--redis`, and `redis-server` installed: it fails, never skips, without them).
#[test]
fn fanout_over_a_two_node_cluster_delivers_everything() {
    let json = short_fanout(&["--rate", "50", "--duration", "2", "--redis-nodes", "2"]);
    fanout_checks(&json, 22.0);
    assert_eq!(num(&json, "redis_nodes"), 2.0);
    assert_eq!(raw(&json, "reuse_port"), "false");
    // Both nodes delivered (publisher 0 and half the subscribers on node 1, the rest on node 2).
    let (one, two) = (num(&json, "node1_deliveries"), num(&json, "node2_deliveries"));
    assert!(one > 0.0 && two > 0.0, "{json}");
    assert_eq!(one + two, num(&json, "deliveries"));
    // CPU of each node and of the Redis, and their sum as the cluster's.
    let parts = num(&json, "node1_cpu_s") + num(&json, "node2_cpu_s") + num(&json, "redis_cpu_s");
    assert!((parts - num(&json, "server_cpu_s")).abs() < 0.02, "{json}");
    assert!(num(&json, "redis_cpu_s") >= 0.0, "{json}");
}

/// `--redis-nodes 2 --reuse-port`: both nodes on one port, the kernel spreads the connections.
#[test]
fn fanout_over_two_nodes_sharing_a_port_delivers_everything() {
    let json = short_fanout(&["--rate", "50", "--redis-nodes", "2", "--reuse-port"]);
    // One port: /metrics reaches whichever node the kernel picks, so /proc counts the writes.
    fanout_checks_from(&json, 22.0, "syscw");
    assert_eq!(raw(&json, "reuse_port"), "true");
    assert!(!json.contains("node1_deliveries"), "one port: per-node deliveries are unknown: {json}");
    assert!(num(&json, "node1_cpu_s") >= 0.0 && num(&json, "node2_cpu_s") >= 0.0, "{json}");
}

/// `--pid`: a server the test started itself; the bench asks its `/metrics` at `--url`'s
/// address, and without `--metrics` falls back to /proc.
#[test]
fn an_attached_server_is_asked_at_the_url() {
    use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};
    for (flags, source) in [(&["--metrics"][..], "danmaku_socket_writes_total"), (&[], "syscw")] {
        let mut cmd = Command::new(SERVER);
        cmd.args(["--bind", "127.0.0.1:0", "--rate", "0", "--ping-interval", "0"]).args(flags);
        let mut server = ServerProcess::start(cmd, &SpawnOptions::default()).expect("start the server");
        let (pid, url) = (server.pid().to_string(), format!("ws://{}/ws?room=bench", server.addr()));
        let output = bench(&[
            "fanout",
            "--subscribers",
            "5",
            "--rate",
            "50",
            "--duration",
            "0.5",
            "--warmup",
            "0.2",
            "--pid",
            &pid,
            "--url",
            &url,
            "--json",
        ]);
        server.stop(std::time::Duration::from_secs(5));
        assert_eq!(output.status.code(), Some(0), "{flags:?}");
        let stdout = String::from_utf8(output.stdout).unwrap();
        let json = stdout.lines().last().unwrap();
        fanout_checks_from(json, 6.0, source);
    }
}

#[test]
fn idle_connections_all_get_the_broadcast() {
    let json = bench_json(&["idle", "--conns", "200", "--hold", "0.5", "--broadcast"]);
    assert_eq!(raw(&json, "mode"), "\"idle\"");
    assert_eq!(num(&json, "connected"), 200.0);
    assert_eq!(num(&json, "held"), 200.0);
    assert_eq!(num(&json, "deliveries"), 200.0);
    assert_eq!(num(&json, "expected"), 200.0);
    assert_eq!(num(&json, "lost"), 0.0);
    assert_eq!(num(&json, "connect_failures"), 0.0);
    let before = num(&json, "server_rss_kib_before");
    let after = num(&json, "server_rss_kib_after");
    assert!(before > 0.0 && after > 0.0);
    assert!(raw(&json, "rss_per_conn_kib") != "null");
    assert!(num(&json, "max") > 0.0);
}

#[test]
fn rejected_posts_are_counted_as_error_frames() {
    // The server's own rate limit (1 post/s, bucket of 2) rejects most posts: the bench must
    // count the error frames, report the loss and exit 3 rather than hang.
    let output = bench(&[
        "fanout",
        "--subscribers",
        "3",
        "--rate",
        "max",
        "--window",
        "2",
        "--duration",
        "0.5",
        "--warmup",
        "0",
        "--drain",
        "0.2",
        "--spawn",
        SERVER,
        "--server-arg",
        "--rate",
        "--server-arg",
        "1",
        "--json",
    ]);
    let stdout = String::from_utf8(output.stdout).unwrap();
    let json = stdout.lines().last().unwrap();
    assert!(num(json, "errors") > 0.0, "{json}");
    assert_eq!(output.status.code(), Some(3));
}

#[test]
fn bad_flags_exit_2_with_a_reason() {
    for args in [
        &["fanout", "--subscribers", "many"][..],
        &["fanout", "--rate", "0"],
        &["idle", "--window", "3"],
        &["idle", "--hold", "-1"],
        &["stampede"],
        &[],
        &["fanout", "--frobnicate"],
        &["fanout", "--arrival", "sliding"],
        &["fanout", "--rate", "max", "--arrival", "poisson"],
        &["bigroom", "--conns", "5"],
        &["fanout", "--redis-nodes", "2"],
        &["fanout", "--spawn", SERVER, "--reuse-port"],
        &["idle", "--spawn", SERVER, "--redis-nodes", "2"],
    ] {
        let output = Command::new(BENCH).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.starts_with("danmaku-wall-bench: ") && stderr.len() > 25, "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn help_lists_the_modes_and_flags() {
    let output = Command::new(BENCH).arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout).unwrap();
    for word in [
        "fanout",
        "bigroom",
        "idle",
        "--subscribers",
        "--rate R|max",
        "--arrival",
        "sliding",
        "poisson",
        "--latencies",
        "--window",
        "--conns",
        "--spawn",
        "--pid",
        "--json",
        "--redis-nodes",
        "--reuse-port",
        "--redis-server",
        "--metrics",
        "danmaku_socket_writes_total",
        "server_writes_source",
        "danmaku_flush_pass_seconds",
        "flush_pass_p99_le_ms",
    ] {
        assert!(help.contains(word), "help lacks {word}");
    }
    assert!(!help.contains("128"), "the listen backlog is not 128");
}

#[test]
fn unreachable_server_is_a_run_failure() {
    // A port nobody listens on (bound, never listening): connection refused.
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = socket.local_addr().unwrap().port();
    drop(socket);
    let url = format!("ws://127.0.0.1:{port}/ws");
    let output = Command::new(BENCH)
        .args(["fanout", "--subscribers", "2", "--duration", "0.2", "--url", &url])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", String::from_utf8_lossy(&output.stderr));
}
