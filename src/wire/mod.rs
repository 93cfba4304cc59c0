//! Ring 1: wire formats. Pure functions over byte slices; no sockets, no clocks.

pub mod close;
pub mod dns;
pub mod forwarded;
pub mod frame;
pub mod handshake;
pub mod hosts;
pub mod http;
pub mod json;
pub mod prometheus;
pub mod qr;
pub mod redis_url;
pub mod resolv_conf;
pub mod resp;
pub mod utf8;
