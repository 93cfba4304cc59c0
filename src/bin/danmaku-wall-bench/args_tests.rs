//! Tests of [`super`]: defaults, every rule between flags, URLs.

use super::*;

fn run(args: &str) -> Result<Options, String> {
    match parse(args.split_whitespace().map(String::from))? {
        Command::Run(o) => Ok(*o),
        Command::Help => Err("help".to_string()),
    }
}

#[test]
fn defaults_and_values() {
    let o = run("fanout").unwrap();
    let Mode::Fanout(f) = o.mode else { panic!() };
    assert_eq!((f.subscribers, f.publishers, f.window), (1000, 1, 8));
    assert_eq!(f.rate, Rate::PerSecond(100.0));
    assert_eq!(o.common.url.path, "/ws?room=bench");

    let o = run("fanout --subscribers 20 --publishers=2 --rate max --window 4 --duration 0.5 --json").unwrap();
    let Mode::Fanout(f) = o.mode else { panic!() };
    assert_eq!((f.subscribers, f.publishers, f.window, f.duration), (20, 2, 4, 0.5));
    assert_eq!(f.rate, Rate::Max);
    assert!(o.common.json);

    let o = run("idle --conns 200 --hold 0.5 --no-broadcast --spawn x --server-arg --log --server-arg warn").unwrap();
    let Mode::Idle(i) = o.mode else { panic!() };
    assert_eq!((i.conns, i.hold, i.broadcast), (200, 0.5, false));
    assert_eq!(o.common.server_args, ["--log", "warn"]);
}

#[test]
fn arrivals_and_big_room() {
    let f = |args: &str| match run(args).unwrap().mode {
        Mode::Fanout(f) => f,
        Mode::Idle(_) => panic!("idle"),
    };
    assert_eq!(f("fanout").arrival, Arrival::Even);
    assert_eq!(f("fanout --rate max").arrival, Arrival::Burst);
    assert_eq!(f("fanout --rate max --arrival sliding --window 3").arrival, Arrival::Sliding);
    assert_eq!(f("fanout --rate 20 --arrival poisson").arrival, Arrival::Poisson);
    let big = f("bigroom --latencies /tmp/x");
    assert_eq!((big.name, big.subscribers, big.publishers, big.duration), ("bigroom", 10_000, 1, 10.0));
    assert_eq!((big.rate, big.latencies.as_deref()), (Rate::PerSecond(50.0), Some("/tmp/x")));
    assert_eq!(f("bigroom --subscribers 20").subscribers, 20);
}

#[test]
fn cluster_flags() {
    let f = |args: &str| match run(args).unwrap().mode {
        Mode::Fanout(f) => f,
        Mode::Idle(_) => panic!("idle"),
    };
    assert_eq!(f("fanout --spawn x").cluster, None);
    let c = f("fanout --spawn x --redis-nodes 2").cluster.unwrap();
    assert_eq!(c, Cluster { nodes: 2, reuse_port: false, redis_server: "redis-server".to_string() });
    let c = f("bigroom --redis-nodes=3 --reuse-port --redis-server /opt/redis --spawn x").cluster.unwrap();
    assert_eq!(c, Cluster { nodes: 3, reuse_port: true, redis_server: "/opt/redis".to_string() });
    assert_eq!(f("fanout --spawn x --redis-nodes 64").cluster.unwrap().nodes, MAX_NODES);
    for bad in [
        "fanout --redis-nodes 2",
        "fanout --redis-nodes 2 --pid 5",
        "fanout --spawn x --redis-nodes 0",
        "fanout --spawn x --redis-nodes 65",
        "fanout --spawn x --redis-nodes two",
        "fanout --spawn x --reuse-port",
        "fanout --spawn x --redis-server r",
        "fanout --spawn x --redis-nodes 2 --reuse-port=yes",
        "fanout --spawn x --redis-nodes 2 --redis-server=",
        "fanout --spawn x --redis-nodes 2 --server-cpu 1",
        "idle --spawn x --redis-nodes 2",
    ] {
        let err = run(bad).err().unwrap_or_else(|| panic!("{bad:?} accepted"));
        assert!(err.contains("--redis") || err.contains("--reuse-port"), "{bad:?}: {err}");
    }
}

#[test]
fn help_has_the_real_listen_backlog() {
    let backlog = danmaku_wall::config::Config::default().listen_backlog;
    assert!(crate::help::HELP.contains(&format!("listen backlog ({backlog} by default")), "{backlog}");
}

#[test]
fn bad_flags() {
    for bad in [
        "",
        "nonsense",
        "fanout --subscribers -1",
        "fanout --subscribers lots",
        "fanout --rate 0",
        "fanout --rate fast",
        "fanout --window 0 --rate max",
        "fanout --window 4",
        "fanout --duration 0",
        "fanout --conns 5",
        "idle --rate 5",
        "idle --hold -1",
        "idle --conns",
        "idle --frobnicate",
        "idle --json=yes",
        "idle --pid 5 --spawn x",
        "idle --server-cpu 0",
        "fanout --url http://x/ws",
        "fanout --msg-bytes 101",
        "fanout --arrival sliding",
        "fanout --rate max --arrival poisson",
        "fanout --arrival zigzag",
        "bigroom --conns 5",
        "idle --arrival even",
        "fanout --latencies=",
    ] {
        assert!(run(bad).is_err(), "{bad:?} accepted");
    }
    assert!(matches!(parse(["idle".to_string(), "-h".to_string()]), Ok(Command::Help)));
}

#[test]
fn urls() {
    let u = WsUrl::parse("ws://localhost/ws").unwrap();
    assert_eq!((u.authority.as_str(), u.path.as_str()), ("localhost:80", "/ws"));
    let u = WsUrl::parse("ws://[::1]:9000?room=x").unwrap();
    assert_eq!((u.authority.as_str(), u.path.as_str()), ("[::1]:9000", "/?room=x"));
    let u = WsUrl::parse("ws://[::1]").unwrap();
    assert_eq!(u.authority, "[::1]:80");
    assert!(WsUrl::parse("ws:///ws").is_err());
}
