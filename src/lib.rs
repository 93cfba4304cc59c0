//! danmaku-wall: a live bullet-comment wall on a WebSocket server written from RFC 6455 up.
//!
//! Three rings, read from the inside out:
//! 1. [`wire`]: pure formats (HTTP request heads, the opening handshake, frames, close codes,
//!    UTF-8, JSON). Bytes in, values out.
//! 2. [`protocol`]: connection state machines fed with bytes and the current time. No sockets.
//! 3. [`server`]: the mio event loop that moves bytes between the kernel and ring 2.
//!
//! Beside them, [`wall`] turns messages into danmaku (rooms, validation, rate limits) and
//! [`pages`] serves the HTML/CSS/JS of `www/`.

#![deny(unsafe_code)]

pub mod app;
pub mod config;
pub mod kit;
pub mod pages;
pub mod protocol;
pub mod server;
pub mod wall;
pub mod wire;
