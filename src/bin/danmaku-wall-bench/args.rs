//! Command-line flags, hand-written like the server's: `MODE [FLAGS]`, `--flag VALUE` or
//! `--flag=VALUE`, every value checked with a reason. The `--help` text is [`crate::help`].

pub use crate::ws_url::WsUrl;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rate {
    PerSecond(f64),
    Max,
}

/// When publishers post (see `--arrival` in [`crate::help::HELP`]).
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

/// `--redis-nodes`: the server under test as a cluster of nodes sharing a private Redis.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Nodes started from `--spawn`, each with `--redis`.
    pub nodes: usize,
    /// All nodes on one port with `--reuse-port` (else one free port each).
    pub reuse_port: bool,
    /// The `redis-server` binary.
    pub redis_server: String,
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
    /// `--redis-nodes N`: a cluster instead of one server.
    pub cluster: Option<Cluster>,
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

/// The most nodes `--redis-nodes` starts.
pub const MAX_NODES: usize = 64;

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
        cluster: None,
    }
}

/// The flags being read, with what they set so far.
struct Parsed {
    common: Common,
    fanout: Fanout,
    idle: Idle,
    window_given: bool,
    arrival_given: bool,
    /// `--redis-nodes`, `--reuse-port`, `--redis-server` as given (checked in [`check`]).
    redis_nodes: Option<usize>,
    reuse_port: bool,
    redis_server: Option<String>,
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
const FANOUT_FLAGS: [&str; 13] = [
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
    "--redis-nodes",
    "--reuse-port",
    "--redis-server",
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
        "--redis-nodes" => p.redis_nodes = Some(count(flag, v, 1, MAX_NODES)?),
        "--reuse-port" => p.reuse_port = true,
        "--redis-server" if v.is_empty() => return Err("--redis-server needs the redis-server binary".to_string()),
        "--redis-server" => p.redis_server = Some(v.to_string()),
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
    let switch = matches!(flag, "--json" | "--broadcast" | "--no-broadcast" | "--reuse-port");
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
    check_cluster(p)
}

/// The rules of `--redis-nodes` and its companions; sets [`Fanout::cluster`].
fn check_cluster(p: &mut Parsed) -> Result<(), String> {
    let Some(nodes) = p.redis_nodes else {
        return match (p.reuse_port, &p.redis_server) {
            (true, _) => Err("--reuse-port needs --redis-nodes".to_string()),
            (_, Some(_)) => Err("--redis-server needs --redis-nodes".to_string()),
            _ => Ok(()),
        };
    };
    let c = &p.common;
    if c.spawn.is_none() {
        return Err("--redis-nodes starts the nodes itself: it needs --spawn (and excludes --pid)".to_string());
    }
    if c.server_cpu.is_some() {
        return Err("--server-cpu pins one server; with --redis-nodes pin with taskset instead".to_string());
    }
    let redis_server = p.redis_server.clone().unwrap_or_else(|| "redis-server".to_string());
    p.fanout.cluster = Some(Cluster { nodes, reuse_port: p.reuse_port, redis_server });
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
        redis_nodes: None,
        reuse_port: false,
        redis_server: None,
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
#[path = "args_tests.rs"]
mod tests;
