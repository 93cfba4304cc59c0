//! Tiny fragments: a message sent one byte per fragment is reassembled up to
//! `--max-message` and closed with 1009 past it, without the resident memory growing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{CONTINUATION, Server, TEXT, Ws, client_frame, rss_kib};
use crate::support::{assert_clean_log, mib};

/// Samples the RSS of `pid` every 5 ms until told to stop; returns the peak.
fn rss_sampler(pid: i32) -> (Arc<AtomicBool>, thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || {
        let mut peak = 0;
        while !flag.load(Ordering::SeqCst) {
            peak = peak.max(rss_kib(pid));
            thread::sleep(Duration::from_millis(5));
        }
        peak.max(rss_kib(pid))
    });
    (stop, handle)
}

/// A text message as `count` one-byte fragments (FIN on the last if `finish`).
fn one_byte_fragments(count: usize, finish: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 7);
    for i in 0..count {
        let opcode = if i == 0 { TEXT } else { CONTINUATION };
        let byte = b'a' + (i % 26) as u8;
        let mask = (i as u32).wrapping_mul(0x9E37_79B9).to_le_bytes();
        out.extend_from_slice(&client_frame(finish && i + 1 == count, opcode, &[byte], mask));
    }
    out
}

/// The scenario of `one_byte_fragments_are_reassembled_up_to_max_message_and_no_further`.
pub fn reassembled_up_to_max_message_and_no_further() {
    let mut server = Server::start(&["--echo", "--max-message", "65536"]);
    let addr = server.addr();
    let pid = server.pid();
    // Warm up: one message at the limit, so the baseline includes what a big message costs.
    let mut warm = Ws::connect(addr, "/echo");
    warm.send_binary(&vec![7u8; 65536]);
    assert_eq!(warm.recv().payload.len(), 65536);
    drop(warm);
    thread::sleep(Duration::from_millis(100));
    let rss_before = rss_kib(pid);

    // Exactly the limit (inclusive), one byte per fragment: echoed whole.
    let start = Instant::now();
    let mut ws = Ws::connect(addr, "/echo");
    ws.send_raw(&one_byte_fragments(65536, true));
    let f = ws.recv();
    let expected: Vec<u8> = (0..65536).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!((f.opcode, f.fin, f.payload.len()), (TEXT, true, 65536));
    assert!(f.payload == expected, "the reassembled message differs");
    ws.assert_alive();
    let at_limit = start.elapsed();

    // 200,000 fragments, no FIN: 1009 once the total passes 65536.
    let (stop, sampler) = rss_sampler(pid);
    let start = Instant::now();
    let mut ws = Ws::connect(addr, "/echo");
    let flood = one_byte_fragments(200_000, false);
    ws.send_raw(&flood);
    ws.shutdown_write();
    let frames = ws.drain_to_eof();
    let flood_took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    assert_eq!(frames.len(), 1, "expected only a close frame: {frames:?}");
    assert_eq!(frames[0].close_code(), Some(1009));
    let rss_after = rss_kib(pid);
    println!(
        "tiny fragments: 65,536 one-byte fragments echoed in {at_limit:?}; 200,000 closed with 1009 in {flood_took:?}; \
         RSS {:.1} MiB before, peak {:.1} MiB (+{:.1}), {:.1} MiB after",
        mib(rss_before),
        mib(peak),
        mib(peak.saturating_sub(rss_before)),
        mib(rss_after)
    );
    assert!(peak < rss_before + 4 * 1024, "RSS grew by {:.1} MiB during the flood", mib(peak - rss_before));
    assert_clean_log(&mut server, "tiny fragments");
}
