//! A room's history: its latest danmaku, as the very frames the fan-out sent (shared, not
//! copied), plus the moderation events (`delete`, `clear`) a resuming wall must also see.
//!
//! The contract ("Rooms over time"): a room keeps its latest `--history N` danmaku younger
//! than `--history-ttl`. A resume with `since=ID` replays every retained danmaku above `ID`
//! and every event that happened after `ID` was the room's latest, in the order they
//! happened; `recovered` says whether nothing above `ID` had been pruned meanwhile.
//!
//! Deleted and cleared danmaku leave the history at once (they are never replayed); pruning
//! by count or age is what makes a resume incomplete, so only pruning moves `pruned_upto`.

use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// How much a room retains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryLimits {
    /// Danmaku kept (`--history`); 0 keeps none.
    pub max_len: usize,
    /// Danmaku older than this are dropped (`--history-ttl`).
    pub ttl: Duration,
}

/// One retained item: a danmaku, or a moderation event.
#[derive(Debug, Clone)]
struct Entry {
    /// The danmaku's id, or for an event, the id of the room's latest danmaku when it happened.
    id: u64,
    is_event: bool,
    at: Instant,
    frame: Rc<[u8]>,
}

/// What a resume gets.
#[derive(Debug, Default)]
pub struct Replay {
    /// Frames to send after `hello`, in order.
    pub frames: Vec<Rc<[u8]>>,
    /// Every danmaku after `since` up to the latest is among them (deleted ones aside).
    pub recovered: bool,
}

/// A room's retained danmaku and events, oldest first.
#[derive(Debug)]
pub struct History {
    entries: VecDeque<Entry>,
    /// Danmaku (not events) among `entries`.
    danmaku: usize,
    /// The highest id pruned by count or age (0: none).
    pruned_upto: u64,
    /// The id of the latest danmaku ever added (0: none).
    last: u64,
}

impl History {
    /// A history whose next danmaku will have id `last + 1`.
    pub fn new() -> Self {
        History { entries: VecDeque::new(), danmaku: 0, pruned_upto: 0, last: 0 }
    }

    pub fn last(&self) -> u64 {
        self.last
    }

    /// Nothing retained: the room may be forgotten (if nothing else holds it).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends danmaku `id` (the next one: ids are given out in order).
    pub fn push_danmaku(&mut self, id: u64, frame: Rc<[u8]>, now: Instant, limits: HistoryLimits) {
        self.last = id;
        if limits.max_len == 0 {
            self.pruned_upto = id;
            return;
        }
        self.entries.push_back(Entry { id, is_event: false, at: now, frame });
        self.danmaku += 1;
        while self.danmaku > limits.max_len {
            self.pop_front();
        }
    }

    /// Appends a `delete` or `clear` event, positioned after the latest danmaku. Events are
    /// capped like danmaku: at most `max_len` of them are kept.
    pub fn push_event(&mut self, frame: Rc<[u8]>, now: Instant, limits: HistoryLimits) {
        if limits.max_len == 0 {
            return;
        }
        self.entries.push_back(Entry { id: self.last, is_event: true, at: now, frame });
        if self.entries.len() - self.danmaku > limits.max_len
            && let Some(i) = self.entries.iter().position(|e| e.is_event)
        {
            self.entries.remove(i);
        }
    }

    /// Removes danmaku `id` (a moderator deleted it). Returns whether it was retained.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(i) = self.entries.iter().position(|e| !e.is_event && e.id == id) else { return false };
        self.entries.remove(i);
        self.danmaku -= 1;
        true
    }

    /// Removes every danmaku (a moderator cleared the room); events stay.
    pub fn remove_all_danmaku(&mut self) {
        self.entries.retain(|e| e.is_event);
        self.danmaku = 0;
    }

    /// Drops what is older than the TTL.
    pub fn expire(&mut self, now: Instant, limits: HistoryLimits) {
        while self.entries.front().is_some_and(|e| now.saturating_duration_since(e.at) >= limits.ttl) {
            self.pop_front();
        }
    }

    fn pop_front(&mut self) {
        match self.entries.pop_front() {
            Some(e) if !e.is_event => {
                self.danmaku -= 1;
                self.pruned_upto = self.pruned_upto.max(e.id);
            }
            _ => {}
        }
    }

    /// What a wall that saw everything up to `since` must be sent, at most `budget` bytes of
    /// it: when the whole replay does not fit, the newest entries that do, and `recovered`
    /// false (the contract's second way of keeping a replay under `--max-backlog`).
    pub fn replay(&self, since: u64, budget: usize) -> Replay {
        let wanted = self.entries.iter().filter(|e| if e.is_event { e.id >= since } else { e.id > since });
        let mut frames: Vec<Rc<[u8]>> = Vec::new();
        let mut bytes = 0usize;
        let mut cut = false;
        for e in wanted.rev() {
            if bytes + e.frame.len() > budget {
                cut = true;
                break;
            }
            bytes += e.frame.len();
            frames.push(e.frame.clone());
        }
        frames.reverse();
        // The contract counts danmaku only: "every danmaku after `ID` up to `last` was still
        // retained (deleted and cleared ones aside)". A pruned `delete` or `clear` event does
        // not make a replay incomplete (a wall that missed one may still show what it removed).
        Replay { frames, recovered: !cut && (since >= self.last || since >= self.pruned_upto) }
    }
}

impl Default for History {
    fn default() -> Self {
        History::new()
    }
}

#[cfg(test)]
#[path = "history_tests.rs"]
mod tests;
