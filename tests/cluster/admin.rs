//! An admin of a cluster node (INTERFACE.md, "Moderation"): signing in, and a request
//! answered `ok`.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::Ws;
use crate::reading::wait_text;

/// An admin signed in on `addr`, past its `state`.
pub fn admin(addr: SocketAddr, token: &str) -> Ws {
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{token}"}}"#));
    wait_text(&mut ws, Duration::from_secs(5), |t| t.starts_with(r#"{"type":"state""#));
    ws
}

/// The admin's request and its `ok`.
pub fn admin_ok(ws: &mut Ws, request: &str) {
    ws.send_text(request);
    let reply =
        wait_text(ws, Duration::from_secs(5), |t| t.contains(r#""type":"ok""#) || t.contains(r#""type":"error""#));
    assert!(reply.contains(r#""type":"ok""#), "{request} -> {reply}");
}
