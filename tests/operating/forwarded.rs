//! Members that upgrade with forwarding headers (`X-Forwarded-For`, `X-Real-IP`), and the
//! address the admins see for them (INTERFACE.md, "--trust-proxy").

use std::net::SocketAddr;

use crate::common::{HttpClient, UpgradeRequest, Ws};
use crate::support::{next_of, str_of};

/// A `/ws` member in `room` whose upgrade carried `headers` (e.g. `X-Forwarded-For: ...`).
pub fn join_with(addr: SocketAddr, room: &str, headers: &[&str]) -> Ws {
    let mut req = UpgradeRequest::new(&addr.to_string(), &format!("/ws?room={room}"), &crate::common::new_key());
    for h in headers {
        req = req.with(h);
    }
    let mut client = HttpClient::connect(addr);
    client.send(&req.bytes());
    let resp = client.read_response(false);
    assert_eq!(resp.status, 101, "{headers:?}: {resp:?}");
    let mut ws = client.into_ws();
    ws.read_hello().expect("hello");
    ws
}

/// The `from` the admins see for a post made by a member that upgraded with `headers`.
pub fn seen_from(addr: SocketAddr, admin: &mut Ws, headers: &[&str]) -> String {
    let mut ws = join_with(addr, "proxied", headers);
    ws.post("who am i", None);
    ws.recv_text();
    str_of(&next_of(admin, "post"), "from").to_string()
}
