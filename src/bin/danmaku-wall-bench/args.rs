//! Command-line flags, hand-written like the server's: `MODE [FLAGS]`, `--flag VALUE` or
//! `--flag=VALUE`, every value checked with a reason.

pub const HELP: &str = "\
danmaku-wall-bench: load generator for the danmaku-wall WebSocket server

USAGE:
    danmaku-wall-bench fanout [FLAGS]    publishers post, every connection in the room receives
    danmaku-wall-bench idle [FLAGS]      hold many idle connections, then check one broadcast
    danmaku-wall-bench --help

  fanout: S subscribers and P publishers join one room (publishers receive every broadcast
  too). Each post's msg carries `b<seq> <send_ns>` (ns on the bench's monotonic clock); every
  delivery's latency is recorded. After --warmup, posts are counted for --duration seconds;
  then up to --drain seconds collect what is still in flight. Reports deliveries, expected
  (posts x connections open at the time), LOST (a loss is a bug), deliveries/s, latency
  percentiles, error frames and, with --spawn or --pid, deliveries per server CPU-second.

  idle: opens --conns connections (--connect-concurrency handshakes in flight), holds them
  --hold seconds, reads the server's RSS, then (unless --no-broadcast) one more connection
  posts one danmaku and every held connection must receive it.

SERVER (both modes):
        --url ws://HOST:PORT/PATH  server and path to load [default: ws://127.0.0.1:3000/ws?room=bench]
                                   (with --spawn only the path and query are used)
        --spawn PATH               start the server binary PATH with `--bind 127.0.0.1:0 --rate 0
                                   --ping-interval 0 --max-connections 100000 --max-backlog 16777216`,
                                   read its port from its `listening on http://` line, stop it at the end
        --server-arg ARG           one more argument for the spawned server (repeatable)
        --pid PID                  measure an already running server (CPU time, RSS)
        --server-cpu N             pin the server (every thread) to CPU core N
        --bench-cpu N              pin this tool to CPU core N

FANOUT:
        --subscribers S            receiving connections [default: 1000]
        --publishers P             posting connections, also receiving [default: 1]
        --rate R|max               posts per second over all publishers, or `max`: each publisher
                                   keeps --window posts in flight [default: 100]
        --window W                 with --rate max: posts a publisher may have sent but not yet
                                   received back [default: 8]
        --duration SECS            measured window [default: 10]
        --warmup SECS              load before measuring, not recorded [default: 1]
        --drain SECS               longest wait for in-flight deliveries after the window [default: 2]
        --msg-bytes N              msg text length, `b<seq> <ns>` padded with `~` [default: 24]

IDLE:
        --conns N                  connections to hold [default: 10000]
        --hold SECS                how long to hold them before measuring [default: 5]
        --broadcast                post one danmaku and check every held connection gets it [default]
        --no-broadcast             skip that check

OTHER:
        --connect-concurrency N    handshakes in flight at once [default: 100]; more than the
                                   server's listen backlog (128 with mio's default) overflows it:
                                   dropped SYNs and ~1 s retransmits, i.e. slower connecting
        --json                     end the output with exactly one JSON line holding every figure
    -h, --help                     print this and exit

Fractional seconds are fine (--hold 0.5). The bench raises its open-file limit to the hard
limit; every connection needs one descriptor. To a loopback server, connections come from
source addresses 127.0.0.2-254 in turn, so local ports are not the limit.

OUTPUT:
    Aligned text; with --json also one JSON line at the end. CPU figures cover the measured
    window (fanout) or the connecting phase (idle): the server's from /proc/PID/stat, the
    bench's own from getrusage, and other processes' from /proc/stat. A warning says when
    the bench's core is saturated (>= 90%: figures are a lower bound), when the server's is,
    and when other processes used >= 10% of a core (figures are noisy). fanout also counts
    the server's write system calls in the window (syscw of /proc/PID/io: write and writev,
    not send or sendmsg) and divides the deliveries by them: how many messages one write
    carried, i.e. how well the server batches.

EXIT STATUS:
    0 the run completed and every check passed; 1 the run could not be done (server not
    reachable, spawn failed); 2 bad flags; 3 the run completed but a check failed (deliveries
    lost, a broadcast missed, connections failed or dropped).
";

/// Where to connect: the address to resolve, the `Host` header and the request target.
#[derive(Debug, Clone, PartialEq)]
pub struct WsUrl {
    /// `HOST:PORT`, for `ToSocketAddrs` and the `Host` header.
    pub authority: String,
    /// Path and query, e.g. `/ws?room=bench`.
    pub path: String,
}

impl WsUrl {
    pub fn parse(url: &str) -> Result<WsUrl, String> {
        let rest = url.strip_prefix("ws://").ok_or_else(|| format!("--url {url}: must start with ws:// (no TLS)"))?;
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        if authority.is_empty() {
            return Err(format!("--url {url}: no host"));
        }
        let has_port = match authority.rfind(']') {
            Some(close) => authority[close..].contains(':'),
            None => authority.contains(':'),
        };
        let authority = if has_port { authority.to_string() } else { format!("{authority}:80") };
        let path = match path {
            "" => "/".to_string(),
            p if p.starts_with('?') => format!("/{p}"),
            p => p.to_string(),
        };
        if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
            return Err(format!("--url {url}: the path holds spaces or control characters"));
        }
        Ok(WsUrl { authority, path })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Max,
}

#[derive(Debug, Clone)]
pub struct Common {
    pub url: WsUrl,
    pub spawn: Option<String>,
    pub server_args: Vec<String>,
    pub pid: Option<i32>,
    pub server_cpu: Option<usize>,
    pub bench_cpu: Option<usize>,
    pub concurrency: usize,
    pub json: bool,
}

#[derive(Debug, Clone)]
pub struct Fanout {
    pub subscribers: usize,
    pub publishers: usize,
    pub rate: Rate,
    pub window: usize,
    pub duration: f64,
    pub warmup: f64,
    pub drain: f64,
    pub msg_bytes: usize,
}

#[derive(Debug, Clone)]
pub struct Idle {
    pub conns: usize,
    pub hold: f64,
    pub broadcast: bool,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Fanout(Fanout),
    Idle(Idle),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub common: Common,
    pub mode: Mode,
}

#[derive(Debug)]
pub enum Command {
    Help,
    Run(Box<Options>),
}

fn count(flag: &str, v: &str, min: usize, max: usize) -> Result<usize, String> {
    let n: usize = v.parse().map_err(|_| format!("{flag} {v}: not a whole number"))?;
    if n < min || n > max {
        return Err(format!("{flag} {v}: must be between {min} and {max}"));
    }
    Ok(n)
}

fn seconds(flag: &str, v: &str, zero_ok: bool) -> Result<f64, String> {
    let s: f64 = v.parse().map_err(|_| format!("{flag} {v}: not a number of seconds"))?;
    if !s.is_finite() || s < 0.0 || (s == 0.0 && !zero_ok) || s > 86_400.0 {
        let want = if zero_ok { "0 or more" } else { "more than 0" };
        return Err(format!("{flag} {v}: must be {want} seconds (at most a day)"));
    }
    Ok(s)
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let Some(mode_name) = args.first() else {
        return Err("no mode given: `fanout` or `idle` (see --help)".to_string());
    };
    let fanout_mode = match mode_name.as_str() {
        "fanout" => true,
        "idle" => false,
        other => return Err(format!("unknown mode {other:?}: `fanout` or `idle` (see --help)")),
    };
    let mut common = Common {
        url: WsUrl::parse("ws://127.0.0.1:3000/ws?room=bench").expect("default URL"),
        spawn: None,
        server_args: Vec::new(),
        pid: None,
        server_cpu: None,
        bench_cpu: None,
        concurrency: 100,
        json: false,
    };
    let mut fanout = Fanout {
        subscribers: 1000,
        publishers: 1,
        rate: Rate::PerSecond(100.0),
        window: 8,
        duration: 10.0,
        warmup: 1.0,
        drain: 2.0,
        msg_bytes: 24,
    };
    let mut idle = Idle { conns: 10_000, hold: 5.0, broadcast: true };
    let mut window_given = false;

    let mut it = args[1..].iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let takes_value = !matches!(flag, "--json" | "--broadcast" | "--no-broadcast");
        if !takes_value && inline.is_some() {
            return Err(format!("{flag} takes no value"));
        }
        let value = if takes_value {
            match inline {
                Some(v) => v,
                None => it.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?,
            }
        } else {
            String::new()
        };
        let v = value.as_str();
        let fanout_only = matches!(
            flag,
            "--subscribers"
                | "--publishers"
                | "--rate"
                | "--window"
                | "--duration"
                | "--warmup"
                | "--drain"
                | "--msg-bytes"
        );
        let idle_only = matches!(flag, "--conns" | "--hold" | "--broadcast" | "--no-broadcast");
        if fanout_only && !fanout_mode {
            return Err(format!("{flag} is a fanout flag, not for idle"));
        }
        if idle_only && fanout_mode {
            return Err(format!("{flag} is an idle flag, not for fanout"));
        }
        match flag {
            "--url" => common.url = WsUrl::parse(v)?,
            "--spawn" => {
                if v.is_empty() {
                    return Err("--spawn needs the server binary's path".to_string());
                }
                common.spawn = Some(value.clone());
            }
            "--server-arg" => common.server_args.push(value.clone()),
            "--pid" => common.pid = Some(count(flag, v, 1, i32::MAX as usize)? as i32),
            "--server-cpu" => common.server_cpu = Some(count(flag, v, 0, 1023)?),
            "--bench-cpu" => common.bench_cpu = Some(count(flag, v, 0, 1023)?),
            "--connect-concurrency" => common.concurrency = count(flag, v, 1, 1_000_000)?,
            "--json" => common.json = true,
            "--subscribers" => fanout.subscribers = count(flag, v, 0, 1_000_000)?,
            "--publishers" => fanout.publishers = count(flag, v, 1, 100_000)?,
            "--rate" => {
                fanout.rate = if v == "max" {
                    Rate::Max
                } else {
                    let r: f64 = v.parse().map_err(|_| format!("--rate {v}: posts per second, or `max`"))?;
                    if !r.is_finite() || r <= 0.0 || r > 10_000_000.0 {
                        return Err(format!("--rate {v}: must be more than 0 (and at most 10000000), or `max`"));
                    }
                    Rate::PerSecond(r)
                }
            }
            "--window" => {
                fanout.window = count(flag, v, 1, 1_000_000)?;
                window_given = true;
            }
            "--duration" => fanout.duration = seconds(flag, v, false)?,
            "--warmup" => fanout.warmup = seconds(flag, v, true)?,
            "--drain" => fanout.drain = seconds(flag, v, true)?,
            "--msg-bytes" => fanout.msg_bytes = count(flag, v, 1, 100)?,
            "--conns" => idle.conns = count(flag, v, 1, 10_000_000)?,
            "--hold" => idle.hold = seconds(flag, v, true)?,
            "--broadcast" => idle.broadcast = true,
            "--no-broadcast" => idle.broadcast = false,
            _ if flag.starts_with('-') => return Err(format!("unknown flag {flag} (see --help)")),
            _ => return Err(format!("unexpected argument {arg:?} (see --help)")),
        }
    }
    if common.spawn.is_some() && common.pid.is_some() {
        return Err("--spawn and --pid exclude each other".to_string());
    }
    if !common.server_args.is_empty() && common.spawn.is_none() {
        return Err("--server-arg only makes sense with --spawn".to_string());
    }
    if common.server_cpu.is_some() && common.spawn.is_none() && common.pid.is_none() {
        return Err("--server-cpu needs --spawn or --pid".to_string());
    }
    if window_given && fanout.rate != Rate::Max {
        return Err("--window applies to --rate max only".to_string());
    }
    let mode = if fanout_mode { Mode::Fanout(fanout) } else { Mode::Idle(idle) };
    Ok(Command::Run(Box::new(Options { common, mode })))
}

#[cfg(test)]
mod tests {
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

        let o =
            run("idle --conns 200 --hold 0.5 --no-broadcast --spawn x --server-arg --log --server-arg warn").unwrap();
        let Mode::Idle(i) = o.mode else { panic!() };
        assert_eq!((i.conns, i.hold, i.broadcast), (200, 0.5, false));
        assert_eq!(o.common.server_args, ["--log", "warn"]);
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
}
