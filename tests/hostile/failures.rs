//! How failures are gathered from the worker threads and shown: every message quotes the seed
//! and the case index, so that a failure replays.

use std::sync::{Arc, Mutex};

/// Shows bytes for a failure message: printable ASCII as is, the rest escaped, cut at `max`.
pub(crate) fn show(bytes: &[u8], max: usize) -> String {
    let mut s: String = bytes[..bytes.len().min(max)].escape_ascii().to_string();
    if bytes.len() > max {
        s.push_str(&format!("…(+{} bytes)", bytes.len() - max));
    }
    s
}

/// Collects failures from worker threads; the test fails at the end with the first few.
#[derive(Default, Clone)]
pub(crate) struct Failures(Arc<Mutex<Vec<String>>>);

impl Failures {
    pub(crate) fn add(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }

    pub(crate) fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    pub(crate) fn assert_none(&self, what: &str) {
        let all = self.0.lock().unwrap();
        assert!(
            all.is_empty(),
            "{what}: {} failures; the first ones:\n{}",
            all.len(),
            all.iter().take(12).cloned().collect::<Vec<_>>().join("\n\n")
        );
    }
}
