//! The values of the flags: each parser says why a value is refused (for `exit 2`).

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use crate::protocol::coalesce::FlushPolicy;
use crate::wire::redis_url::RedisUrl;

/// `--redis URL`. Its host may be a name (RFC 1035 §2.3.4 rules, checked here): it is looked
/// up when the server starts (`server::resolve`); a name that cannot be found then is not a
/// bad flag value.
pub(super) fn redis_url(v: &str) -> Result<RedisUrl, String> {
    let url = RedisUrl::parse(v).map_err(|e| format!("--redis: {e}"))?;
    if url.ip().is_none() {
        crate::wire::dns::validate_name(&url.host).map_err(|e| format!("--redis: host {:?} is {e}", url.host))?;
    }
    Ok(url)
}

/// `--log LEVEL`.
pub(super) fn log_level(v: &str) -> Result<log::LevelFilter, String> {
    match v.to_ascii_lowercase().as_str() {
        "error" => Ok(log::LevelFilter::Error),
        "warn" => Ok(log::LevelFilter::Warn),
        "info" => Ok(log::LevelFilter::Info),
        "debug" => Ok(log::LevelFilter::Debug),
        "trace" => Ok(log::LevelFilter::Trace),
        _ => Err(format!("--log wants error|warn|info|debug|trace, got '{v}'")),
    }
}

/// `--bind HOST:PORT`: an IP address (`0.0.0.0:3000`, `[::]:3000`) or `localhost`. Names are
/// not looked up: a listening address is the machine's own, and leaving the resolver out keeps
/// the statically linked binary small and free of run-time library loading.
pub fn bind_address(bind: &str) -> Option<SocketAddr> {
    if let Ok(addr) = bind.parse() {
        return Some(addr);
    }
    let (host, port) = bind.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    match host {
        "localhost" => Some(SocketAddr::from((Ipv4Addr::LOCALHOST, port))),
        "" | "*" => Some(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))),
        _ => None,
    }
}

/// `--public-url`: an absolute http(s) URL, kept without trailing slashes.
pub(super) fn public_url(v: &str) -> Result<String, String> {
    let lower = v.to_ascii_lowercase();
    let rest = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    // The post URL is BASE/post?room=NAME: a query or fragment in BASE would swallow it.
    let plain = !v.contains(['?', '#']);
    if !host_ok || !plain || v.len() > 1024 || v.bytes().any(|b| b <= b' ' || b >= 0x7f) {
        return Err(format!("--public-url wants an address like https://wall.example.org, got '{v}'"));
    }
    Ok(v.trim_end_matches('/').to_string())
}

/// `--redis-prefix`: printable ASCII without spaces or `{` (Redis Cluster hashes the first
/// `{...}` of a key, and the room name must be that hash tag), at most 64 bytes.
pub(super) fn redis_prefix(v: &str) -> Result<String, String> {
    let ok = v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic() && b != b'{' && b != b'}');
    if !ok {
        return Err(format!(
            "--redis-prefix wants up to 64 printable characters without spaces, '{{' or '}}', got '{v}'"
        ));
    }
    Ok(v.to_string())
}

/// The moderation token: the first line of `--admin-token-file` (without CR/LF), or else
/// `env_token` (`DANMAKU_ADMIN_TOKEN`; empty counts as unset). Too short or unreadable: why.
pub fn admin_token(file: Option<&std::path::Path>, env_token: Option<String>) -> Result<Option<String>, String> {
    let token = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("--admin-token-file {}: {e}", path.display()))?;
            Some(text.lines().next().unwrap_or("").trim_end_matches(['\r', '\n']).to_string())
        }
        None => env_token.filter(|t| !t.is_empty()),
    };
    if let Some(t) = &token {
        crate::wall::moderation::token::validate_token(t)?;
    }
    Ok(token)
}

/// `--flush-delay auto|MS`: `0` flushes every turn, at most 1000 ms.
pub(super) fn flush_policy(flag: &str, v: &str) -> Result<FlushPolicy, String> {
    if v.eq_ignore_ascii_case("auto") {
        return Ok(FlushPolicy::Auto);
    }
    let ms = seconds(flag, v, true).map_err(|_| format!("{flag} wants auto or milliseconds (0-1000), got '{v}'"))?;
    if ms > Duration::from_secs(1000) {
        return Err(format!("{flag} wants at most 1000 ms, got '{v}'"));
    }
    Ok(if ms.is_zero() { FlushPolicy::EveryTurn } else { FlushPolicy::Fixed(ms / 1000) })
}

/// A whole number at least `min`.
pub(super) fn count(flag: &str, v: &str, min: usize) -> Result<usize, String> {
    let n: usize = v.parse().map_err(|_| format!("{flag} wants a whole number, got '{v}'"))?;
    if n < min {
        return Err(format!("{flag} must be at least {min}, got {n}"));
    }
    Ok(n)
}

/// Seconds, maybe fractional; zero only where `zero_ok` (where zero means "off").
pub(super) fn seconds(flag: &str, v: &str, zero_ok: bool) -> Result<Duration, String> {
    let secs: f64 = v.parse().map_err(|_| format!("{flag} wants seconds, got '{v}'"))?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!("{flag} wants seconds between 0 and 1e9, got '{v}'"));
    }
    if secs == 0.0 && !zero_ok {
        return Err(format!("{flag} must be more than 0"));
    }
    Ok(Duration::from_secs_f64(secs))
}
