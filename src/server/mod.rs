//! Ring 3: the mio shell. It owns the sockets, tokens, timers and output queues, moves
//! bytes between the kernel and the state machines of [`crate::protocol`], and hands
//! complete messages to [`crate::wall`].

pub mod atomic_file;
pub mod connections;
pub mod event_loop;
pub mod output;
pub mod system;
pub mod timers;

pub use event_loop::{Server, run};
