//! Command-line flags, hand-written like the server's: `MODE [FLAGS]`, `--flag VALUE` or
//! `--flag=VALUE`, every value checked with a reason.

pub const HELP: &str = "\
danmaku-wall-bench: load generator for the danmaku-wall WebSocket server

USAGE:
    danmaku-wall-bench fanout [FLAGS]    publishers post, every connection in the room receives
    danmaku-wall-bench bigroom [FLAGS]   fanout preset: 10000 subscribers, 1 publisher, 50 posts/s, 10 s
    danmaku-wall-bench idle [FLAGS]      hold many idle connections, then check one broadcast
    danmaku-wall-bench --help

  fanout: S subscribers and P publishers join one room (publishers receive every broadcast
  too). Each post's msg carries `b<seq> <send_ns>` (ns on the bench's monotonic clock); every
  delivery's latency is recorded. After --warmup, posts are counted for --duration seconds;
  then up to --drain seconds collect what is still in flight. Reports deliveries, expected
  (posts x connections open at the time), LOST (a loss is a bug), deliveries/s, latency
  percentiles, error frames and, with --spawn or --pid, deliveries per server CPU-second and
  deliveries per server write call. The server's `hello` frame (the first after each upgrade)
  is not a delivery; a server that sends none (the comparison server) works as well.

  bigroom: the big-room workload, a fanout with other defaults (--subscribers 10000
  --publishers 1 --rate 50 --duration 10); every fanout flag still applies, and --latencies
  FILE keeps every delivery's latency. Against the comparison server (tokio-tungstenite, see
  the README's Performance section), point --spawn at its binary: it ignores every flag but
  --bind and rebroadcasts raw posts, which the bench recognises too.

  idle: opens --conns connections (--connect-concurrency handshakes in flight), holds them
  --hold seconds, reads the server's RSS, then (unless --no-broadcast) one more connection
  posts one danmaku and every held connection must receive it.

SERVER (every mode):
        --url ws://HOST:PORT/PATH  server and path to load [default: ws://127.0.0.1:3000/ws?room=bench]
                                   (with --spawn only the path and query are used)
        --spawn PATH               start the server binary PATH with `--bind 127.0.0.1:0 --rate 0
                                   --ping-interval 0 --max-connections 100000 --max-backlog 16777216`,
                                   read its port from its `listening on http://` line, stop it at the end
        --server-arg ARG           one more argument for the spawned server (repeatable)
        --pid PID                  measure an already running server (CPU time, RSS)
        --server-cpu N             pin the server (every thread) to CPU core N
        --bench-cpu N              pin this tool to CPU core N

FANOUT and BIGROOM:
        --subscribers S            receiving connections [default: 1000; bigroom 10000]
        --publishers P             posting connections, also receiving [default: 1]
        --rate R|max               posts per second over all publishers, or `max`: each publisher
                                   keeps --window posts in flight [default: 100; bigroom 50]
        --arrival PATTERN          when publishers post [default: even with --rate R, burst with max]:
                                     even     --rate R: each publisher at a fixed interval
                                     poisson  --rate R: each publisher at random (Poisson) times,
                                              exponential gaps, R/s on average over all of them
                                     burst    --rate max: each turn of the loop refills every
                                              publisher's window of --window posts at once
                                     sliding  --rate max: a publisher sends a new post the moment
                                              one of its posts comes back (window --window)
        --window W                 with --rate max: posts a publisher may have sent but not yet
                                   received back [default: 8]
        --duration SECS            measured window [default: 10]
        --warmup SECS              load before measuring, not recorded [default: 1]
        --drain SECS               longest wait for in-flight deliveries after the window [default: 2]
        --msg-bytes N              msg text length, `b<seq> <ns>` padded with `~` [default: 24]
        --latencies FILE           also write every measured delivery's latency, in microseconds,
                                   one per line

IDLE:
        --conns N                  connections to hold [default: 10000]
        --hold SECS                how long to hold them before measuring [default: 5]
        --broadcast                post one danmaku and check every held connection gets it [default]
        --no-broadcast             skip that check

OTHER:
        --connect-concurrency N    handshakes in flight at once [default: 100]; more than the
                                   server's listen backlog (4096 by default, see the server's
                                   config) overflows it: dropped SYNs and ~1 s retransmits,
                                   i.e. slower connecting
        --json                     end the output with exactly one JSON line holding every figure
    -h, --help                     print this and exit

Fractional seconds are fine (--hold 0.5). The bench raises its open-file limit to the hard
limit; every connection needs one descriptor. To a loopback server, connections come from
source addresses 127.0.0.2-254 in turn, so local ports are not the limit.

EXAMPLES:
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --rate max --arrival sliding
    danmaku-wall-bench fanout --spawn target/release/danmaku-wall --publishers 50 --rate 500 --arrival poisson
    danmaku-wall-bench bigroom --spawn target/release/danmaku-wall --latencies /tmp/ours.txt
    danmaku-wall-bench bigroom --spawn ../tt-compare/target/release/tt-compare --latencies /tmp/theirs.txt

OUTPUT:
    Aligned text; with --json also one JSON line at the end. CPU figures cover the measured
    window (fanout) or the connecting phase (idle): the server's from /proc/PID/stat, the
    bench's own from getrusage, and other processes' from /proc/stat. A warning says when
    the bench's core is saturated (>= 90%: figures are a lower bound), when the server's is,
    and when other processes used >= 10% of a core (figures are noisy). fanout also counts
    the server's write system calls in the window (syscw of /proc/PID/io: write and writev,
    not send or sendmsg) and divides the deliveries by them: how many messages one write
    carried, i.e. how well the server batches, for every arrival pattern.

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

/// When publishers post (see `--arrival` in [`HELP`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// `--rate R`: a fixed interval per publisher.
    Even,
    /// `--rate R`: exponential gaps per publisher (a Poisson process).
    Poisson,
    /// `--rate max`: every loop turn refills each publisher's window.
    Burst,
    /// `--rate max`: a new post the moment one of the publisher's own comes back.
    Sliding,
}

impl Arrival {
    pub fn name(self) -> &'static str {
        match self {
            Arrival::Even => "even",
            Arrival::Poisson => "poisson",
            Arrival::Burst => "burst",
            Arrival::Sliding => "sliding",
        }
    }

    /// Whether the pattern keeps a window in flight (`--rate max`) rather than a rate.
    pub fn windowed(self) -> bool {
        matches!(self, Arrival::Burst | Arrival::Sliding)
    }
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
    /// `fanout` or `bigroom`: the mode's name in the report.
    pub name: &'static str,
    pub subscribers: usize,
    pub publishers: usize,
    pub rate: Rate,
    pub arrival: Arrival,
    pub window: usize,
    pub duration: f64,
    pub warmup: f64,
    pub drain: f64,
    pub msg_bytes: usize,
    /// `--latencies FILE`: every measured delivery's latency, written there.
    pub latencies: Option<String>,
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

fn rate(v: &str) -> Result<Rate, String> {
    if v == "max" {
        return Ok(Rate::Max);
    }
    let r: f64 = v.parse().map_err(|_| format!("--rate {v}: posts per second, or `max`"))?;
    if !r.is_finite() || r <= 0.0 || r > 10_000_000.0 {
        return Err(format!("--rate {v}: must be more than 0 (and at most 10000000), or `max`"));
    }
    Ok(Rate::PerSecond(r))
}

fn arrival(v: &str) -> Result<Arrival, String> {
    match v {
        "even" => Ok(Arrival::Even),
        "poisson" => Ok(Arrival::Poisson),
        "burst" => Ok(Arrival::Burst),
        "sliding" => Ok(Arrival::Sliding),
        _ => Err(format!("--arrival {v}: one of even, poisson, burst, sliding")),
    }
}

fn default_common() -> Common {
    Common {
        url: WsUrl::parse("ws://127.0.0.1:3000/ws?room=bench").expect("default URL"),
        spawn: None,
        server_args: Vec::new(),
        pid: None,
        server_cpu: None,
        bench_cpu: None,
        concurrency: 100,
        json: false,
    }
}

/// The defaults of `fanout`, or of its `bigroom` preset.
fn default_fanout(big_room: bool) -> Fanout {
    Fanout {
        name: if big_room { "bigroom" } else { "fanout" },
        subscribers: if big_room { 10_000 } else { 1000 },
        publishers: 1,
        rate: Rate::PerSecond(if big_room { 50.0 } else { 100.0 }),
        arrival: Arrival::Even,
        window: 8,
        duration: 10.0,
        warmup: 1.0,
        drain: 2.0,
        msg_bytes: 24,
        latencies: None,
    }
}

/// The flags being read, with what they set so far.
struct Parsed {
    common: Common,
    fanout: Fanout,
    idle: Idle,
    window_given: bool,
    arrival_given: bool,
}

/// Applies one flag shared by every mode; `Ok(false)` if `flag` is not one.
fn common_flag(c: &mut Common, flag: &str, v: &str) -> Result<bool, String> {
    match flag {
        "--url" => c.url = WsUrl::parse(v)?,
        "--spawn" if v.is_empty() => return Err("--spawn needs the server binary's path".to_string()),
        "--spawn" => c.spawn = Some(v.to_string()),
        "--server-arg" => c.server_args.push(v.to_string()),
        "--pid" => c.pid = Some(count(flag, v, 1, i32::MAX as usize)? as i32),
        "--server-cpu" => c.server_cpu = Some(count(flag, v, 0, 1023)?),
        "--bench-cpu" => c.bench_cpu = Some(count(flag, v, 0, 1023)?),
        "--connect-concurrency" => c.concurrency = count(flag, v, 1, 1_000_000)?,
        "--json" => c.json = true,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The flags of `fanout` and `bigroom`.
const FANOUT_FLAGS: [&str; 10] = [
    "--subscribers",
    "--publishers",
    "--rate",
    "--arrival",
    "--window",
    "--duration",
    "--warmup",
    "--drain",
    "--msg-bytes",
    "--latencies",
];

/// The flags of `idle`.
const IDLE_FLAGS: [&str; 4] = ["--conns", "--hold", "--broadcast", "--no-broadcast"];

/// Applies one of [`FANOUT_FLAGS`].
fn fanout_flag(p: &mut Parsed, flag: &str, v: &str) -> Result<(), String> {
    let f = &mut p.fanout;
    match flag {
        "--subscribers" => f.subscribers = count(flag, v, 0, 1_000_000)?,
        "--publishers" => f.publishers = count(flag, v, 1, 100_000)?,
        "--rate" => f.rate = rate(v)?,
        "--arrival" => {
            f.arrival = arrival(v)?;
            p.arrival_given = true;
        }
        "--window" => {
            f.window = count(flag, v, 1, 1_000_000)?;
            p.window_given = true;
        }
        "--duration" => f.duration = seconds(flag, v, false)?,
        "--warmup" => f.warmup = seconds(flag, v, true)?,
        "--drain" => f.drain = seconds(flag, v, true)?,
        "--msg-bytes" => f.msg_bytes = count(flag, v, 1, 100)?,
        "--latencies" if v.is_empty() => return Err("--latencies needs a file name".to_string()),
        "--latencies" => f.latencies = Some(v.to_string()),
        _ => return Err(format!("unknown flag {flag} (see --help)")),
    }
    Ok(())
}

/// Applies one of [`IDLE_FLAGS`].
fn idle_flag(i: &mut Idle, flag: &str, v: &str) -> Result<(), String> {
    match flag {
        "--conns" => i.conns = count(flag, v, 1, 10_000_000)?,
        "--hold" => i.hold = seconds(flag, v, true)?,
        "--broadcast" => i.broadcast = true,
        "--no-broadcast" => i.broadcast = false,
        _ => return Err(format!("unknown flag {flag} (see --help)")),
    }
    Ok(())
}

/// The next flag and its value (`--flag VALUE` or `--flag=VALUE`; switches take none).
fn next_flag<'a>(arg: &'a str, rest: &mut impl Iterator<Item = &'a String>) -> Result<(&'a str, String), String> {
    let (flag, inline) = match arg.split_once('=') {
        Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
        _ => (arg, None),
    };
    let switch = matches!(flag, "--json" | "--broadcast" | "--no-broadcast");
    match (switch, inline) {
        (true, Some(_)) => Err(format!("{flag} takes no value")),
        (true, None) => Ok((flag, String::new())),
        (false, Some(v)) => Ok((flag, v)),
        (false, None) => Ok((flag, rest.next().cloned().ok_or_else(|| format!("{flag} needs a value"))?)),
    }
}

/// Rules between flags, once all are read.
fn check(p: &mut Parsed) -> Result<(), String> {
    let c = &p.common;
    if c.spawn.is_some() && c.pid.is_some() {
        return Err("--spawn and --pid exclude each other".to_string());
    }
    if !c.server_args.is_empty() && c.spawn.is_none() {
        return Err("--server-arg only makes sense with --spawn".to_string());
    }
    if c.server_cpu.is_some() && c.spawn.is_none() && c.pid.is_none() {
        return Err("--server-cpu needs --spawn or --pid".to_string());
    }
    let f = &mut p.fanout;
    if !p.arrival_given && f.rate == Rate::Max {
        f.arrival = Arrival::Burst;
    }
    if f.arrival.windowed() != (f.rate == Rate::Max) {
        let want = if f.arrival.windowed() { "--rate max" } else { "--rate R (posts per second)" };
        return Err(format!("--arrival {} needs {want}", f.arrival.name()));
    }
    if p.window_given && f.rate != Rate::Max {
        return Err("--window applies to --rate max only".to_string());
    }
    Ok(())
}

pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let args: Vec<String> = args.into_iter().collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        return Ok(Command::Help);
    }
    let Some(mode_name) = args.first() else {
        return Err("no mode given: `fanout`, `bigroom` or `idle` (see --help)".to_string());
    };
    let fanout_mode = match mode_name.as_str() {
        "fanout" | "bigroom" => true,
        "idle" => false,
        other => return Err(format!("unknown mode {other:?}: `fanout`, `bigroom` or `idle` (see --help)")),
    };
    let mut p = Parsed {
        common: default_common(),
        fanout: default_fanout(mode_name == "bigroom"),
        idle: Idle { conns: 10_000, hold: 5.0, broadcast: true },
        window_given: false,
        arrival_given: false,
    };
    let mut it = args[1..].iter();
    while let Some(arg) = it.next() {
        if !arg.starts_with('-') {
            return Err(format!("unexpected argument {arg:?} (see --help)"));
        }
        let (flag, v) = next_flag(arg, &mut it)?;
        if common_flag(&mut p.common, flag, &v)? {
            continue;
        }
        if FANOUT_FLAGS.contains(&flag) {
            if !fanout_mode {
                return Err(format!("{flag} is a fanout flag, not for idle"));
            }
            fanout_flag(&mut p, flag, &v)?;
        } else if IDLE_FLAGS.contains(&flag) {
            if fanout_mode {
                return Err(format!("{flag} is an idle flag, not for {mode_name}"));
            }
            idle_flag(&mut p.idle, flag, &v)?;
        } else {
            return Err(format!("unknown flag {flag} (see --help)"));
        }
    }
    check(&mut p)?;
    let mode = if fanout_mode { Mode::Fanout(p.fanout) } else { Mode::Idle(p.idle) };
    Ok(Command::Run(Box::new(Options { common: p.common, mode })))
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
    fn help_has_the_real_listen_backlog() {
        let backlog = danmaku_wall::config::Config::default().listen_backlog;
        assert!(HELP.contains(&format!("listen backlog ({backlog} by default")), "{backlog}");
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
}
