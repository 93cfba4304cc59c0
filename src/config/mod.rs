//! Command-line flags → [`Config`]. Hand-written: the flags are few and the rules (what zero
//! means, what is out of range) are clearer spelled out than hidden in a crate.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::coalesce::FlushPolicy;
use crate::wire::forwarded::TrustList;
use crate::wire::http::HeadLimits;
use crate::wire::redis_url::RedisUrl;

/// Everything the server's behaviour depends on. Every limit lives here and is passed down.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    /// Serve the pages from this folder instead of the copy built into the binary.
    pub www: Option<PathBuf>,
    /// `None`: heartbeats off (`--ping-interval 0`).
    pub ping_interval: Option<Duration>,
    pub ping_timeout: Duration,
    pub request_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// How long a connection we closed may take to send its close frame / FIN.
    pub close_timeout: Duration,
    pub max_message: usize,
    pub max_backlog: usize,
    pub max_connections: usize,
    /// Danmaku per second per connection; 0 = unlimited.
    pub rate: u32,
    pub blocklist: Option<PathBuf>,
    pub allow_origins: Vec<String>,
    pub echo: bool,
    pub log_level: log::LevelFilter,
    pub head_limits: HeadLimits,
    /// When queued output is flushed (`--flush-delay`): adaptively (`auto`, the default),
    /// at the end of every loop turn (`0`), or once it has waited a fixed time.
    pub flush_delay: FlushPolicy,
    /// Connections the kernel may queue before we accept them.
    pub listen_backlog: i32,
    /// Longest time a shutdown waits for close replies.
    pub shutdown_grace: Duration,
    /// Danmaku a room retains for resuming walls (`--history`); 0 = none.
    pub history: usize,
    /// Retained danmaku older than this are dropped (`--history-ttl`).
    pub history_ttl: Duration,
    /// Rooms (with members or retained history) that may exist at once (`--max-rooms`).
    pub max_rooms: usize,
    /// The address phones should use (`--public-url`), without trailing slashes.
    pub public_url: Option<String>,
    /// Peers whose `X-Forwarded-For` is believed (`--trust-proxy`).
    pub trust_proxy: TrustList,
    /// Serve `/metrics` (`--metrics`).
    pub metrics: bool,
    /// `--admin-token-file`; the token itself is resolved by [`admin_token`].
    pub admin_token_file: Option<PathBuf>,
    /// The moderation token (from the file or `DANMAKU_ADMIN_TOKEN`); `None`: moderation off.
    pub admin_token: Option<String>,
    /// `--redis URL`: run as one node of a cluster sharing rooms through this Redis.
    pub redis: Option<RedisUrl>,
    /// `--redis-prefix`: the start of every key and channel name in Redis.
    pub redis_prefix: String,
    /// `--reuse-port`: set `SO_REUSEPORT` so several processes can bind the same address.
    pub reuse_port: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 3000)),
            www: None,
            ping_interval: Some(Duration::from_secs(25)),
            ping_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(10),
            keepalive_timeout: Duration::from_secs(30),
            close_timeout: Duration::from_secs(5),
            max_message: 65536,
            max_backlog: 1 << 20,
            max_connections: 10_000,
            rate: 5,
            blocklist: None,
            allow_origins: Vec::new(),
            echo: false,
            log_level: log::LevelFilter::Info,
            head_limits: HeadLimits::default(),
            shutdown_grace: Duration::from_secs(2),
            flush_delay: FlushPolicy::Auto,
            listen_backlog: 4096,
            history: 1000,
            history_ttl: Duration::from_secs(120),
            max_rooms: 10_000,
            public_url: None,
            trust_proxy: TrustList::default(),
            metrics: false,
            admin_token_file: None,
            admin_token: None,
            redis: None,
            redis_prefix: "danmaku:".to_string(),
            reuse_port: false,
        }
    }
}

mod help;
mod values;

pub use help::HELP;
pub use values::{admin_token, bind_address};
use values::{count, flush_policy, log_level, public_url, redis_prefix, redis_url, seconds};

/// A flag's value that turned out bad only when the server used it (a `--www` folder or
/// `--blocklist` file that cannot be read): like a bad value at parse time, it exits 2. It
/// travels inside the `io::Error` the start-up returns; [`is_bad_flag_value`] finds it.
#[derive(Debug)]
pub struct BadFlagValue(pub String);

impl std::fmt::Display for BadFlagValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadFlagValue {}

/// Whether `e` is a [`BadFlagValue`] (so the process exits 2, not 1).
pub fn is_bad_flag_value(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<BadFlagValue>())
}

/// The most danmaku `--history` may keep per room (a bound on memory per room).
pub const MAX_HISTORY: usize = 1 << 20;

/// `n`, or why it is over `max` (said, not silently lowered).
fn at_most(flag: &str, n: usize, max: usize) -> Result<usize, String> {
    if n > max {
        return Err(format!("{flag} must be at most {max}, got {n}"));
    }
    Ok(n)
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Command {
    Run(Box<Config>),
    Help,
}

/// Parses the arguments after the program name. An error says why, for `exit 2`.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Command, String> {
    let mut config = Config::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if matches!(flag.as_str(), "-h" | "--help") {
            return Ok(Command::Help);
        }
        let takes_value = !matches!(flag.as_str(), "--echo" | "--metrics" | "--reuse-port");
        let value = match (takes_value, inline) {
            (true, Some(v)) => v,
            (true, None) => args.next().ok_or_else(|| format!("{flag} needs a value (see --help)"))?,
            (false, Some(_)) => return Err(format!("{flag} takes no value")),
            (false, None) => String::new(),
        };
        if !apply_feature(&mut config, &flag, &value)? && !apply_limit(&mut config, &flag, &value)? {
            return Err(format!("unknown flag '{arg}' (see --help)"));
        }
    }
    Ok(Command::Run(Box::new(config)))
}

/// The flags that choose what the server does and where; `false` if `flag` is not one.
fn apply_feature(config: &mut Config, flag: &str, v: &str) -> Result<bool, String> {
    match flag {
        "--echo" => config.echo = true,
        "--metrics" => config.metrics = true,
        "--reuse-port" => config.reuse_port = true,
        "--redis" => config.redis = Some(redis_url(v)?),
        "--redis-prefix" => config.redis_prefix = redis_prefix(v)?,
        "--public-url" => config.public_url = Some(public_url(v)?),
        "--trust-proxy" => config.trust_proxy.add(v)?, // its errors name the flag
        "--admin-token-file" => config.admin_token_file = Some(PathBuf::from(v)),
        "-b" | "--bind" => {
            config.bind = bind_address(v).ok_or_else(|| format!("--bind wants IP:PORT or localhost:PORT, got '{v}'"))?
        }
        "--www" => config.www = Some(PathBuf::from(v)),
        "--blocklist" => config.blocklist = Some(PathBuf::from(v)),
        "--allow-origin" if v.is_empty() => {
            return Err("--allow-origin needs an origin like https://example.com, or *".to_string());
        }
        "--allow-origin" => config.allow_origins.push(v.to_string()),
        "--log" => config.log_level = log_level(v)?,
        _ => return Ok(false),
    }
    Ok(true)
}

/// The flags that set a limit or a time; `false` if `flag` is not one.
fn apply_limit(config: &mut Config, flag: &str, v: &str) -> Result<bool, String> {
    match flag {
        "--ping-interval" => {
            let secs = seconds(flag, v, true)?;
            config.ping_interval = (!secs.is_zero()).then_some(secs);
        }
        "--ping-timeout" => config.ping_timeout = seconds(flag, v, false)?,
        "--request-timeout" => config.request_timeout = seconds(flag, v, false)?,
        "--keepalive-timeout" => config.keepalive_timeout = seconds(flag, v, false)?,
        "--close-timeout" => config.close_timeout = seconds(flag, v, false)?,
        "--flush-delay" => config.flush_delay = flush_policy(flag, v)?,
        "--max-message" => config.max_message = count(flag, v, 1)?,
        "--max-backlog" => config.max_backlog = count(flag, v, 1)?,
        "--max-connections" => config.max_connections = count(flag, v, 1)?,
        "--history" => config.history = at_most(flag, count(flag, v, 0)?, MAX_HISTORY)?,
        "--history-ttl" => config.history_ttl = seconds(flag, v, false)?,
        "--max-rooms" => config.max_rooms = count(flag, v, 1)?,
        "--rate" => config.rate = u32::try_from(count(flag, v, 0)?).map_err(|_| format!("{flag}: {v} is too large"))?,
        _ => return Ok(false),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        match parse_args(args.iter().map(|s| s.to_string()))? {
            Command::Run(c) => Ok(*c),
            Command::Help => Err("help".to_string()),
        }
    }

    #[test]
    fn defaults_are_the_contracts() {
        let c = parse(&[]).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:3000");
        assert_eq!(c.ping_interval, Some(Duration::from_secs(25)));
        assert_eq!(c.ping_timeout, Duration::from_secs(20));
        assert_eq!(c.request_timeout, Duration::from_secs(10));
        assert_eq!(c.keepalive_timeout, Duration::from_secs(30));
        assert_eq!((c.max_message, c.max_backlog, c.max_connections, c.rate), (65536, 1048576, 10000, 5));
        assert!(!c.echo && c.allow_origins.is_empty() && c.www.is_none() && c.blocklist.is_none());
        assert_eq!(c.log_level, log::LevelFilter::Info);
        assert_eq!(c.flush_delay, FlushPolicy::Auto);
    }

    #[test]
    fn flush_delay_is_auto_zero_or_milliseconds() {
        let policy = |v: &str| parse(&["--flush-delay", v]).map(|c| c.flush_delay);
        assert_eq!(policy("auto"), Ok(FlushPolicy::Auto));
        assert_eq!(policy("AUTO"), Ok(FlushPolicy::Auto));
        assert_eq!(policy("0"), Ok(FlushPolicy::EveryTurn));
        assert_eq!(policy("2.5"), Ok(FlushPolicy::Fixed(Duration::from_micros(2500))));
        assert_eq!(policy("1000"), Ok(FlushPolicy::Fixed(Duration::from_secs(1))));
        assert_eq!(
            parse(&["--flush-delay=5"]).map(|c| c.flush_delay),
            Ok(FlushPolicy::Fixed(Duration::from_millis(5)))
        );
        for bad in ["1000.5", "-1", "automatic", "", "nan"] {
            let err = policy(bad).unwrap_err();
            assert!(err.contains("--flush-delay") && err.contains(bad), "{bad}: {err}");
        }
    }

    #[test]
    fn flags_and_values() {
        let c = parse(&[
            "--bind",
            "0.0.0.0:0",
            "--ping-interval=0",
            "--ping-timeout",
            "0.5",
            "--max-message",
            "16777216",
            "--rate",
            "0",
            "--allow-origin",
            "*",
            "--allow-origin=https://a.example",
            "--echo",
            "--log",
            "DEBUG",
            "-b",
            "[::1]:80",
        ])
        .unwrap();
        assert_eq!(c.bind.to_string(), "[::1]:80");
        assert_eq!(parse(&["--bind", "localhost:0"]).unwrap().bind.to_string(), "127.0.0.1:0");
        assert_eq!(parse(&["--bind", "0.0.0.0:3000"]).unwrap().bind.to_string(), "0.0.0.0:3000");
        assert_eq!(c.ping_interval, None);
        assert_eq!(c.ping_timeout, Duration::from_millis(500));
        assert_eq!(c.max_message, 16_777_216);
        assert_eq!(c.rate, 0);
        assert_eq!(c.allow_origins, vec!["*", "https://a.example"]);
        assert!(c.echo);
        assert_eq!(c.log_level, log::LevelFilter::Debug);
        assert!(matches!(parse_args(["--help".to_string()]), Ok(Command::Help)));
        assert!(matches!(parse_args(["-h".to_string()]), Ok(Command::Help)));
    }

    #[test]
    fn bad_values_say_why() {
        for args in [
            &["--nope"][..],
            &["--rate", "-1"],
            &["--rate", "two"],
            &["--max-message", "0"],
            &["--max-backlog", "0"],
            &["--max-connections", "0"],
            &["--ping-timeout", "0"],
            &["--request-timeout", "-3"],
            &["--keepalive-timeout", "nan"],
            &["--ping-interval", "inf"],
            &["--bind", "3000"],
            &["--bind", "example.com:80"],
            &["--bind", "127.0.0.1:99999"],
            &["--log", "loud"],
            &["--max-message"],
            &["--echo=yes"],
            &["--flush-delay", "-1"],
            &["--flush-delay", "5000"],
            &["--public-url", "wall.example.org"],
            &["--public-url", "ftp://x"],
            &["--public-url", "https://"],
            &["--public-url", "https://a b"],
            &["--trust-proxy", "10.0.0.0/33"],
            &["--trust-proxy", "nope"],
            &["--metrics=1"],
            &["--flush-delay", "soon"],
            &["--history", "1048577"],
            &["--public-url", "https://wall.example.org/?x=1"],
            &["--public-url", "https://wall.example.org/#top"],
        ] {
            let err = parse(args).unwrap_err();
            assert!(!err.is_empty() && err != "help", "{args:?}");
        }
    }

    #[test]
    fn operating_flags() {
        let c =
            parse(&["--public-url", "https://wall.example.org//", "--metrics", "--trust-proxy", "loopback"]).unwrap();
        assert_eq!(c.public_url.as_deref(), Some("https://wall.example.org"));
        assert!(c.metrics && !c.trust_proxy.is_empty());
        assert!(parse(&[]).unwrap().trust_proxy.is_empty());
    }

    #[test]
    fn cluster_flags() {
        let c = parse(&["--redis", "redis://:pw@127.0.0.1:7000/2", "--redis-prefix=x:", "--reuse-port"]).unwrap();
        let url = c.redis.unwrap();
        assert_eq!((url.host.as_str(), url.port, url.password.as_deref(), url.db), ("127.0.0.1", 7000, Some("pw"), 2));
        assert_eq!(c.redis_prefix, "x:");
        assert!(c.reuse_port);
        let c = parse(&[]).unwrap();
        assert!(c.redis.is_none() && !c.reuse_port);
        for host in ["redis://localhost", "redis://[::1]:6380", "redis://10.0.0.5", "redis://redis.example.org:6379"] {
            assert!(parse(&["--redis", host]).is_ok(), "{host}");
        }
        assert_eq!(c.redis_prefix, "danmaku:");
        for (args, says) in [
            (&["--redis", "rediss://h"][..], "TLS"),
            (&["--redis", "http://h"], "scheme"),
            (&["--redis", "redis://h:0"], "port"),
            (&["--redis", "redis://h:99999"], "port"),
            (&["--redis", "redis://h/x"], "database"),
            (&["--redis", "redis://bad%20host:6379"], "not a valid host name"),
            (&["--redis", "redis://a..b"], "not a valid host name"),
            (&["--redis-prefix", "a{b"], "--redis-prefix"),
            (&["--redis-prefix", "a b"], "--redis-prefix"),
            (&["--reuse-port=1"], "takes no value"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }

    #[test]
    fn the_admin_token() {
        let dir = std::env::temp_dir().join(format!("danmaku-token-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "0123456789abcdef\r\nsecond line\n").unwrap();
        let from_file = admin_token(Some(&file), Some("from-the-environment".into())).unwrap();
        assert_eq!(from_file.as_deref(), Some("0123456789abcdef"), "the file wins");
        assert_eq!(
            admin_token(None, Some("from-the-environment".into())).unwrap().as_deref(),
            Some("from-the-environment")
        );
        assert_eq!(admin_token(None, Some(String::new())).unwrap(), None, "empty counts as unset");
        assert_eq!(admin_token(None, None).unwrap(), None);
        assert!(admin_token(None, Some("short".into())).is_err());
        std::fs::write(&file, "short\n").unwrap();
        assert!(admin_token(Some(&file), None).is_err());
        assert!(admin_token(Some(&dir.join("missing")), None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
