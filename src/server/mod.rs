//! Ring 3: the mio shell. It owns the sockets, tokens, timers and output queues, moves
//! bytes between the kernel and the state machines of [`crate::protocol`], and hands
//! complete messages to [`crate::wall`].

pub mod atomic_file;
pub mod connections;
mod dispatch;
pub mod event_loop;
mod io;
pub mod lifecycle;
pub mod output;
pub mod pages;
mod redis_link;
pub mod resolve;
pub mod responder;
#[allow(unsafe_code)] // The one module that calls the C library directly (signals, rlimits).
pub mod system;
pub mod timers;

pub use event_loop::{Server, run};
