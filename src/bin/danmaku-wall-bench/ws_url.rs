//! `--url ws://HOST[:PORT][/PATH][?QUERY]` (RFC 6455 §3, without TLS): the address to
//! resolve, the `Host` header and the request target.

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
