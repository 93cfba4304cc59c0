//! The client-side test kit: what the integration tests (`tests/common`) and the load
//! generator (`danmaku-wall-bench`) both need to drive the server from outside, written once.
//!
//! Client side only: nothing here is used by the server. Every piece builds on the crate's own
//! wire formats ([`crate::wire::frame`], [`crate::wire::handshake`], [`crate::wire::json`]).
//!
//! - [`upgrade`]: `Sec-WebSocket-Key` generation and the one upgrade-request builder
//!   (RFC 6455 §4.1).
//! - [`frames`]: masked client frames out, the one parser of unmasked server frames in
//!   (RFC 6455 §5.2, §5.3).
//! - [`messages`]: the server's JSON messages as the contract names them (`hello`, `ack`,
//!   `danmaku`, `error`) and the post a client sends.
//! - [`client`]: a blocking WebSocket client with read timeouts, for tests.
//! - [`spawn`]: starting the server binary and reading its `listening on` line.
//! - [`procfs`]: CPU time, memory, descriptors and write calls of a process, from `/proc`.
//! - [`sock`]: socket options std does not offer (abortive close, a small receive window).

// The kit calls the C library directly for what std does not offer: getrusage, sysconf,
// SO_LINGER and SO_RCVBUF, kill and PR_SET_PDEATHSIG. Each unsafe block says why it is sound.
#![allow(unsafe_code)]

pub mod client;
pub mod frames;
pub mod messages;
pub mod procfs;
pub mod sock;
pub mod spawn;
pub mod upgrade;
