//! A connection's lifecycle as the shell sees it: one state, changed only by the transitions
//! below, so which combinations exist is written down here and nowhere else.
//!
//! ```text
//!            pause (own replies past --max-backlog)
//!   Open  ─────────────────────────────────────────▶  Paused
//!    │ ▲ ◀───────────────────────────────────────────  │
//!    │   resume (drained to half of --max-backlog)      │
//!    │ close / peer_finished                            │ close / peer_finished
//!    ▼                                                  ▼
//!   Closing { deadline, peer_done }  ── shut (everything written, FIN sent) ──▶  Shut { deadline }
//! ```
//!
//! `Closing`: write what is queued; what arrives is discarded, and after the peer's FIN
//! (`peer_done`) nothing is read at all. `Shut`: our FIN is out (RFC 6455 §7.1.1: the server
//! closes the TCP connection first); read and discard until the peer's FIN or the deadline.

use std::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// Reading and writing.
    Open,
    /// Not reading: our own replies (responses, echoes) passed `--max-backlog`.
    Paused,
    /// Ending: flushing what is queued before our FIN, until `deadline` at the latest.
    Closing { deadline: Instant, peer_done: bool },
    /// Our FIN is sent; waiting for the peer's until `deadline`.
    Shut { deadline: Instant },
}

impl Lifecycle {
    /// Whether the socket should be read at all.
    pub fn reads(self) -> bool {
        matches!(self, Lifecycle::Open | Lifecycle::Closing { peer_done: false, .. } | Lifecycle::Shut { .. })
    }

    /// Whether what is read is handed to the protocol (rather than discarded).
    pub fn takes_input(self) -> bool {
        self == Lifecycle::Open
    }

    /// Whether new output may still be queued and written.
    pub fn writes(self) -> bool {
        !matches!(self, Lifecycle::Shut { .. })
    }

    /// Whether the connection is ending (no new broadcasts are queued on it).
    pub fn is_ending(self) -> bool {
        matches!(self, Lifecycle::Closing { .. } | Lifecycle::Shut { .. })
    }

    /// The close deadline, while ending.
    pub fn deadline(self) -> Option<Instant> {
        match self {
            Lifecycle::Closing { deadline, .. } | Lifecycle::Shut { deadline } => Some(deadline),
            Lifecycle::Open | Lifecycle::Paused => None,
        }
    }

    /// Open → Paused.
    pub fn pause(&mut self) {
        if *self == Lifecycle::Open {
            *self = Lifecycle::Paused;
        }
    }

    /// Paused → Open. Returns whether it changed (reading should resume).
    pub fn resume(&mut self) -> bool {
        let paused = *self == Lifecycle::Paused;
        if paused {
            *self = Lifecycle::Open;
        }
        paused
    }

    /// We end the connection: Open or Paused → Closing. Later calls change nothing.
    pub fn close(&mut self, deadline: Instant) {
        if !self.is_ending() {
            *self = Lifecycle::Closing { deadline, peer_done: false };
        }
    }

    /// The peer sent its FIN while output is still queued: answer, then close.
    pub fn peer_finished(&mut self, deadline: Instant) {
        match *self {
            Lifecycle::Open | Lifecycle::Paused => *self = Lifecycle::Closing { deadline, peer_done: true },
            Lifecycle::Closing { deadline, .. } => *self = Lifecycle::Closing { deadline, peer_done: true },
            Lifecycle::Shut { .. } => {}
        }
    }

    /// Closing → Shut, once everything is written. Returns whether it changed (the FIN should
    /// be sent now).
    pub fn shut(&mut self) -> bool {
        match *self {
            Lifecycle::Closing { deadline, .. } => {
                *self = Lifecycle::Shut { deadline };
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_transitions() {
        let t = Instant::now();
        let later = t + Duration::from_secs(5);
        let mut s = Lifecycle::Open;
        assert!(s.reads() && s.takes_input() && s.writes() && !s.is_ending());
        s.pause();
        assert_eq!(s, Lifecycle::Paused);
        assert!(!s.reads() && s.writes());
        assert!(s.resume() && !s.resume(), "resume changes Paused only");
        assert!(!s.shut(), "an open connection is not shut");
        s.close(t);
        assert_eq!(s, Lifecycle::Closing { deadline: t, peer_done: false });
        s.close(later);
        assert_eq!(s.deadline(), Some(t), "the first close sets the deadline");
        s.pause();
        assert!(!s.resume(), "closing is never paused or resumed");
        assert!(s.reads() && !s.takes_input());
        s.peer_finished(later);
        assert_eq!(s, Lifecycle::Closing { deadline: t, peer_done: true });
        assert!(!s.reads());
        assert!(s.shut() && !s.shut());
        assert_eq!(s, Lifecycle::Shut { deadline: t });
        assert!(s.reads() && !s.writes() && s.is_ending());
        s.close(later);
        s.peer_finished(later);
        assert_eq!(s, Lifecycle::Shut { deadline: t }, "nothing leaves Shut");
    }

    #[test]
    fn eof_while_paused_still_answers() {
        let t = Instant::now();
        let mut s = Lifecycle::Paused;
        s.peer_finished(t);
        assert_eq!(s, Lifecycle::Closing { deadline: t, peer_done: true });
        assert!(s.writes() && !s.reads());
    }
}
