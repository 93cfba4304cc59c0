//! danmaku-wall: a live bullet-comment wall on a WebSocket server written from RFC 6455 up.
//!
//! Three rings, read from the inside out:
//! 1. [`wire`]: pure formats (HTTP request heads, the opening handshake, frames, close codes,
//!    UTF-8, JSON, RESP, `X-Forwarded-For`, the Prometheus text format, QR codes). Bytes in,
//!    values out.
//! 2. [`protocol`]: state machines fed with bytes and the current time (an HTTP connection, a
//!    WebSocket, a Redis session). No sockets, no clock reads, no files.
//! 3. [`server`]: the mio event loop that moves bytes between the kernel and ring 2, reads the
//!    clock, fires timers, serves the files of `www/` and performs the application's actions.
//!
//! Beside ring 2: [`wall`] turns messages into danmaku (rooms, history, validation, rate
//! limits, moderation), and [`app`] says what a request or a message means (routing, the
//! dispatch of `/ws`, `/echo` and `/admin/ws`) as actions for the shell to perform.
//! [`kit`] is the client side the tests and the load generator share; the server never uses it.
//!
//! `unsafe` is denied everywhere but in `server::system` (signals, rlimits, `SO_REUSEPORT`)
//! and in `kit` (the load generator's process and socket tweaks).

#![deny(unsafe_code)]

pub mod app;
pub mod config;
pub mod kit;
pub mod protocol;
pub mod server;
pub mod wall;
pub mod wire;
