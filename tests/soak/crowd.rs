//! The soak's crowd: the stayers, the churning walls and the posters, started in that order,
//! run for the soak's duration and stopped in the reverse order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::churn::churn;
use crate::stats::Stats;
use crate::steady::{post, stay};
use crate::{CHURN_THREADS, ROOMS, STAYERS_PER_ROOM};

/// What the crowd did.
pub struct Outcome {
    /// Posts per room.
    pub posted: Vec<u64>,
    /// The last id each stayer got (stayer `i` is in room `i % ROOMS`).
    pub stayed: Vec<u64>,
    /// From the posters' start to their end.
    pub soaked: Duration,
}

/// Runs the crowd against `addr` for about `duration`: posting is flagged in `stats` for all
/// but its first and last 200 ms, then the posters stop, then the churn, then the stayers
/// once they have every post.
pub fn run(addr: SocketAddr, duration: Duration, stats: &Arc<Stats>) -> Outcome {
    let stop_posting = Arc::new(AtomicBool::new(false));
    let stop_churn = Arc::new(AtomicBool::new(false));
    let final_ids: Arc<Vec<AtomicU64>> = Arc::new((0..ROOMS).map(|_| AtomicU64::new(0)).collect());
    let stayers: Vec<_> = (0..ROOMS * STAYERS_PER_ROOM)
        .map(|i| {
            let (final_ids, stats) = (Arc::clone(&final_ids), Arc::clone(stats));
            let room = i % ROOMS;
            thread::spawn(move || stay(addr, room, format!("stayer {i} (r{room})"), final_ids, stats))
        })
        .collect();
    thread::sleep(Duration::from_millis(200)); // The stayers are in before the first post.
    let churners: Vec<_> = (0..CHURN_THREADS)
        .map(|t| {
            let (stop, stats) = (Arc::clone(&stop_churn), Arc::clone(stats));
            thread::spawn(move || churn(addr, t, stop, stats))
        })
        .collect();
    let posters: Vec<_> = (0..ROOMS)
        .map(|room| {
            let (stop, final_ids, stats) = (Arc::clone(&stop_posting), Arc::clone(&final_ids), Arc::clone(stats));
            thread::spawn(move || post(addr, room, stop, final_ids, stats))
        })
        .collect();
    let start = Instant::now();
    thread::sleep(Duration::from_millis(200));
    stats.posting.store(true, Ordering::SeqCst);
    thread::sleep(duration.saturating_sub(Duration::from_millis(400)));
    stats.posting.store(false, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(200));
    stop_posting.store(true, Ordering::SeqCst);
    let posted: Vec<u64> = posters.into_iter().map(|h| h.join().unwrap()).collect();
    let soaked = start.elapsed();
    stop_churn.store(true, Ordering::SeqCst);
    for h in churners {
        h.join().unwrap();
    }
    let stayed: Vec<u64> = stayers.into_iter().map(|h| h.join().unwrap()).collect();
    Outcome { posted, stayed, soaked }
}
