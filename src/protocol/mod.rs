//! Ring 2: connection state machines. Each is fed bytes and the current time and answers
//! with what to send, what arrived, and when it next needs waking. No sockets.

pub mod cluster_lua;
pub mod cluster_script;
pub mod coalesce;
pub mod http_conn;
pub mod redis_events;
pub mod redis_session;
pub mod ws_conn;
pub mod ws_error;
