//! What a request means: the application's router. Pure: it reads the request head and the
//! application's state, and answers with a decision the HTTP connection and the shell carry
//! out (a page to look up, an endpoint's content, a refusal, or an upgrade to a route).

use std::net::IpAddr;
use std::time::Instant;

use crate::protocol::http_conn::{Answer, Content};
use crate::wall::room::valid_room_name;
use crate::wire::http::{Body, RequestHead, Status, percent_decode, query_param};
use crate::wire::{json, qr};

use super::App;

/// The WebSocket endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `/ws?room=NAME[&since=ID[&epoch=E]]`: a wall (and poster) in a room.
    Wall(WallRoute),
    /// `/echo`: every message back to its sender (for conformance suites).
    Echo,
    /// `/admin/ws`: the moderation endpoint.
    Admin { client: IpAddr },
}

/// Where a wall connects, and where it resumes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WallRoute {
    pub room: String,
    /// The client's address (the peer's, or a trusted proxy's `X-Forwarded-For`).
    pub client: IpAddr,
    /// The last id the wall saw (`since`), if it asked to resume.
    pub since: Option<u64>,
    /// The epoch that id belongs to; only meaningful with `since`.
    pub epoch: Option<String>,
}

/// The router's decision.
#[derive(Debug, Clone)]
pub enum Routed {
    /// A file of the pages, by the request's path (the shell looks it up).
    Page,
    /// `/metrics`: the shell counts its connections and asks [`App::metrics`].
    Metrics,
    /// `/healthz`: the shell knows whether it serves.
    Health,
    Answer(Answer<Route>),
}

/// Longest text `/qr.svg` encodes (a post URL is far shorter).
pub const MAX_QR_TEXT: usize = 1024;

const NOT_FOUND: Routed = Routed::Answer(Answer::Refuse(Status::NotFound, &[]));
const BAD_REQUEST: Routed = Routed::Answer(Answer::Refuse(Status::BadRequest, &[]));

impl App {
    /// Routes one `GET`/`HEAD` request.
    pub fn route(&self, head: &RequestHead<'_>, client: IpAddr, now: Instant) -> Routed {
        let query = head.query().unwrap_or("");
        match head.path() {
            "/ws" => match parse_wall_route(query, client) {
                // With --redis, a wall opens only while the node reaches Redis (the contract).
                Ok(_) if self.cluster.as_ref().is_some_and(|c| !c.is_up()) => {
                    Routed::Answer(Answer::Refuse(Status::ServiceUnavailable, &[("Retry-After", "2")]))
                }
                Ok(route) if self.wall.rooms.can_join(&route.room).is_err() => {
                    log::warn!("refused a wall in new room '{}': the rooms limit is reached", route.room);
                    Routed::Answer(Answer::Refuse(Status::ServiceUnavailable, &[("Retry-After", "5")]))
                }
                Ok(route) => Routed::Answer(Answer::Upgrade { route: Route::Wall(route), cross_origin: true }),
                Err(why) => {
                    log::debug!("refused /ws?{query}: {why}");
                    BAD_REQUEST
                }
            },
            "/echo" if self.echo => Routed::Answer(Answer::Upgrade { route: Route::Echo, cross_origin: true }),
            "/echo" => NOT_FOUND,
            "/healthz" => Routed::Health,
            "/metrics" if self.metrics => Routed::Metrics,
            "/metrics" => NOT_FOUND,
            "/settings.json" => Routed::Answer(Answer::Content(self.settings())),
            "/qr.svg" => match qr_svg(query) {
                Ok(content) => Routed::Answer(Answer::Content(content)),
                Err(why) => {
                    log::debug!("refused /qr.svg: {why}");
                    BAD_REQUEST
                }
            },
            "/admin" | "/admin.html" | "/admin/ws" if !self.moderation_on() => NOT_FOUND,
            "/admin/ws" => match self.admins.limiter.check(client, now) {
                Ok(()) => Routed::Answer(Answer::Upgrade { route: Route::Admin { client }, cross_origin: false }),
                Err(_) => {
                    log::warn!("429 for /admin/ws from {client}: too many failed sign-ins");
                    Routed::Answer(Answer::Refuse(Status::TooManyRequests, &[("Retry-After", "60")]))
                }
            },
            _ => Routed::Page,
        }
    }

    /// `/settings.json`: what the pages need to know about the server.
    fn settings(&self) -> Content {
        let mut body = String::from("{\"public_url\":");
        match &self.public_url {
            Some(url) => json::write_string(&mut body, url),
            None => body.push_str("null"),
        }
        body.push('}');
        Content {
            status: Status::Ok,
            content_type: "application/json",
            body: Body::Shared(body.as_bytes().into()),
            etag: None,
        }
    }
}

/// `/qr.svg?text=T`: the QR code of `T` (percent-decoded), at level M, as SVG.
fn qr_svg(query: &str) -> Result<Content, String> {
    let text = query_param(query, "text").ok_or("text is required")?;
    let text = percent_decode(text).ok_or("text has a malformed %-escape")?;
    if text.is_empty() || text.len() > MAX_QR_TEXT {
        return Err(format!("text must be 1 to {MAX_QR_TEXT} bytes"));
    }
    let code = qr::encode(&text, qr::Ecc::M).map_err(|e| e.to_string())?;
    let body = Body::Shared(code.to_svg().into_bytes().into());
    Ok(Content { status: Status::Ok, content_type: "image/svg+xml", body, etag: None })
}

/// The `/ws` query: `room` (default `main`), `since` and `epoch` (the contract's "Resume").
/// The first occurrence of each key counts.
pub fn parse_wall_route(query: &str, client: IpAddr) -> Result<WallRoute, String> {
    let room = query_param(query, "room").unwrap_or("main");
    if !valid_room_name(room) {
        return Err(format!("room '{room}' is not 1 to 32 letters, digits, '-' or '_'"));
    }
    let since = match query_param(query, "since") {
        None => None,
        Some(s) => Some(parse_since(s).ok_or_else(|| format!("since '{s}' is not a whole number up to 2^63-1"))?),
    };
    // "An epoch without since is ignored": not even checked.
    let epoch = match query_param(query, "epoch").filter(|_| since.is_some()) {
        None => None,
        Some(e) if valid_room_name(e) => Some(e.to_string()),
        Some(e) => return Err(format!("epoch '{e}' is not 1 to 32 letters, digits, '-' or '_'")),
    };
    Ok(WallRoute { room: room.to_string(), client, since, epoch })
}

/// Decimal digits only (no sign, no spaces, not empty), at most 2^63−1.
fn parse_since(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u64>().ok().filter(|&n| n <= i64::MAX as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HERE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    fn parse_wall_route(query: &str) -> Result<WallRoute, String> {
        super::parse_wall_route(query, HERE)
    }

    #[test]
    fn qr_codes_of_the_given_text() {
        let c = qr_svg("text=https%3A%2F%2Fwall.example.org%2Fpost%3Froom%3Dmain").unwrap();
        assert_eq!(c.content_type, "image/svg+xml");
        let expected = qr::encode(b"https://wall.example.org/post?room=main", qr::Ecc::M).unwrap().to_svg();
        assert_eq!(c.body.as_bytes(), expected.as_bytes());
        for bad in ["", "text=", "text=%zz", &format!("text={}", "a".repeat(MAX_QR_TEXT + 1))] {
            assert!(qr_svg(bad).is_err(), "{bad}");
        }
        assert!(qr_svg(&format!("text={}", "a".repeat(MAX_QR_TEXT))).is_ok());
    }

    #[test]
    fn wall_routes() {
        let r = parse_wall_route("").unwrap();
        assert_eq!((r.room.as_str(), r.since, r.epoch), ("main", None, None));
        let r = parse_wall_route("room=a&room=b&since=7&epoch=x-1").unwrap();
        assert_eq!((r.room.as_str(), r.since, r.epoch.as_deref()), ("a", Some(7), Some("x-1")));
        assert_eq!(parse_wall_route("epoch=x").unwrap().epoch, None, "epoch without since is ignored");
        assert_eq!(parse_wall_route("since=0").unwrap().since, Some(0));
        assert_eq!(parse_wall_route("since=9223372036854775807").unwrap().since, Some(i64::MAX as u64));
    }

    #[test]
    fn bad_resume_values_are_refused() {
        for bad in [
            "since=",
            "since=-1",
            "since=+1",
            "since=%201",
            "since=1.0",
            "since=0x1",
            "since=9223372036854775808",
            "since=99999999999999999999",
            "since=1&epoch=",
            "since=1&epoch=a.b",
            &format!("since=1&epoch={}", "e".repeat(33)),
            "room=a/b",
            "room=",
        ] {
            assert!(parse_wall_route(bad).is_err(), "{bad}");
        }
        // Without since, an epoch is ignored, however it is spelled.
        assert_eq!(parse_wall_route("epoch=a.b").unwrap().epoch, None);
    }
}
