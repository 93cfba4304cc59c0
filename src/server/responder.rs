//! The HTTP side of the application, as the shell performs it: the router's decision, with
//! pages looked up (on disk, for `--www`) here in the shell, and the access log written with
//! the times the shell measured.

use std::net::IpAddr;
use std::time::Instant;

use crate::app::App;
use crate::app::metrics::{self, Gauges};
use crate::app::route::{Route, Routed};
use crate::server::pages::Pages;
use crate::protocol::http_conn::{Access, Answer, Content, Responder};
use crate::wire::http::{Body, RequestHead, Status};
use crate::wire::prometheus;

/// Answers requests for one batch of bytes from one connection.
pub struct PageResponder<'a> {
    pub app: &'a App,
    pub pages: &'a mut Pages,
    /// The connection gauges, for `/metrics`.
    pub gauges: Gauges,
    /// Whether this node serves (`/healthz`): not while shutting down.
    pub healthy: bool,
    pub now: Instant,
}

impl Responder for PageResponder<'_> {
    type Route = Route;

    fn respond(&mut self, head: &RequestHead<'_>, client: IpAddr) -> Answer<Route> {
        match self.app.route(head, client, self.now) {
            Routed::Answer(answer) => answer,
            Routed::Metrics => {
                let text = metrics::render(&self.app.counters, &self.gauges);
                dynamic(Status::Ok, prometheus::CONTENT_TYPE, text)
            }
            Routed::Health if self.healthy => dynamic(Status::Ok, "text/plain; charset=utf-8", "ok".into()),
            Routed::Health => dynamic(Status::ServiceUnavailable, "text/plain; charset=utf-8", "unavailable".into()),
            Routed::Page => match self.pages.lookup(head.path()) {
                Some(page) => Answer::Content(Content {
                    status: Status::Ok,
                    content_type: page.content_type,
                    body: page.body,
                    etag: Some(page.etag),
                }),
                None => Answer::Refuse(Status::NotFound, &[]),
            },
        }
    }
}

/// Content made for this request (no validator).
fn dynamic(status: Status, content_type: &'static str, body: String) -> Answer<Route> {
    Answer::Content(Content { status, content_type, body: Body::Shared(body.into_bytes().into()), etag: None })
}

/// One access-log line: method, path (never the query: it may hold what should not be
/// logged), status, time since the loop turn began, bytes of body.
pub fn log_access(access: &Access, started: Instant) {
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    let path = access.target.split_once('?').map_or(access.target.as_str(), |(path, _)| path);
    let (client, method, status, bytes) = (access.client, &access.method, access.status, human_bytes(access.bytes));
    log::info!("{client} {method} {path} {status} {ms:.1}ms {bytes}");
}

/// `3.1KiB`-style sizes for the access log.
pub fn human_bytes(n: usize) -> String {
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.1}KiB", n as f64 / 1024.0),
        _ => format!("{:.1}MiB", n as f64 / 1_048_576.0),
    }
}
