//! A connection's output queue: shared frames and owned bytes waiting for the kernel,
//! written with one vectored write per flush, counted against the backlog cap.
//!
//! A broadcast is framed once into an `Rc<[u8]>`; every member's queue holds a reference
//! to that one buffer ([`Chunk::Shared`]), so fan-out to a thousand walls copies nothing.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};
use std::rc::Rc;

/// Most buffers handed to one vectored write (Linux's `IOV_MAX` is 1024).
const MAX_IOVECS: usize = 256;

/// A queue this short is written from a small array of slices.
const FEW_IOVECS: usize = 16;

/// Chunks of ring buffer an emptied queue keeps (larger ones are freed).
const KEEP_CAPACITY: usize = 8;

/// Bytes waiting to be written.
#[derive(Debug, Clone)]
pub enum Chunk {
    /// Part of the binary (an embedded page).
    Static(&'static [u8]),
    /// Shared with other connections (a broadcast frame) or responses (a file).
    Shared(Rc<[u8]>),
    /// This connection's own (a response head, a pong, an echo).
    Owned(Vec<u8>),
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        match self {
            Chunk::Static(b) => b,
            Chunk::Shared(b) => b,
            Chunk::Owned(b) => b,
        }
    }
}

impl From<crate::wire::http::Body> for Chunk {
    fn from(body: crate::wire::http::Body) -> Self {
        match body {
            crate::wire::http::Body::Static(b) => Chunk::Static(b),
            crate::wire::http::Body::Shared(b) => Chunk::Shared(b),
        }
    }
}

/// What a flush achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flushed {
    /// Everything queued is written.
    All,
    /// The kernel's buffer is full; the rest waits for a writable event.
    Blocked,
}

/// The queue. Empty, it allocates nothing.
#[derive(Debug, Default)]
pub struct OutQueue {
    chunks: VecDeque<Chunk>,
    /// Bytes of the front chunk already written.
    front_written: usize,
    /// Bytes queued and not yet written.
    pending: usize,
}

impl OutQueue {
    pub fn push(&mut self, chunk: Chunk) {
        let len = chunk.bytes().len();
        if len > 0 {
            self.pending += len;
            self.chunks.push_back(chunk);
        }
    }

    /// Unsent bytes (what `--max-backlog` limits).
    pub fn pending(&self) -> usize {
        self.pending
    }

    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Drops every chunk not yet begun (a partly written frame stays, so the stream stays
    /// well-formed): used before a close frame to a connection that fell too far behind.
    pub fn drop_unstarted(&mut self) {
        let keep = usize::from(self.front_written > 0);
        while self.chunks.len() > keep {
            if let Some(chunk) = self.chunks.pop_back() {
                self.pending -= chunk.bytes().len();
            }
        }
    }

    /// Writes as much as the writer takes: vectored writes of everything queued, repeated
    /// until the queue is empty or the writer would block. A short write is normal.
    pub fn flush<W: Write>(&mut self, w: &mut W) -> io::Result<Flushed> {
        while !self.chunks.is_empty() {
            // The usual queue is a handful of frames: do not fill 256 slices (4 KiB) for it.
            let written = if self.chunks.len() <= FEW_IOVECS {
                self.write_vectored::<W, FEW_IOVECS>(w)
            } else {
                self.write_vectored::<W, MAX_IOVECS>(w)
            };
            match written {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.advance(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Flushed::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Flushed::All)
    }

    /// One vectored write (`sendmsg` for a socket) of the first `N` chunks at most (the front
    /// one from where it was left).
    fn write_vectored<W: Write, const N: usize>(&self, w: &mut W) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); N];
        let mut count = 0;
        for (slot, chunk) in slices.iter_mut().zip(&self.chunks) {
            let bytes = if count == 0 { &chunk.bytes()[self.front_written..] } else { chunk.bytes() };
            *slot = IoSlice::new(bytes);
            count += 1;
        }
        w.write_vectored(&slices[..count])
    }

    /// Drops `n` written bytes from the front.
    fn advance(&mut self, mut n: usize) {
        // `Write` returns at most the bytes it was given, all of them queued: no underflow.
        self.pending -= n;
        while n > 0 {
            let Some(front) = self.chunks.front() else { break };
            let left = front.bytes().len() - self.front_written;
            if n < left {
                self.front_written += n;
                return;
            }
            n -= left;
            self.front_written = 0;
            self.chunks.pop_front();
        }
        if self.chunks.is_empty() && self.chunks.capacity() > KEEP_CAPACITY {
            // Give back a ring buffer that a burst made large: an idle connection keeps at
            // most a small one, so the next broadcast does not allocate.
            self.chunks = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call, and then blocks after `calls`.
    struct Trickle {
        written: Vec<u8>,
        limit: usize,
        calls_left: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.write_vectored(&[IoSlice::new(buf)])
        }
        fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
            if self.calls_left == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls_left -= 1;
            self.calls += 1;
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.limit - n);
                self.written.extend_from_slice(&b[..take]);
                n += take;
            }
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn queue_of(parts: &[&'static [u8]]) -> OutQueue {
        let mut q = OutQueue::default();
        let shared: Rc<[u8]> = Rc::from(&b"<shared>"[..]);
        for (i, p) in parts.iter().enumerate() {
            q.push(Chunk::Static(p));
            if i % 2 == 0 {
                q.push(Chunk::Shared(shared.clone()));
            } else {
                q.push(Chunk::Owned(p.to_vec()));
            }
        }
        q
    }

    #[test]
    fn everything_in_order_whatever_the_write_sizes() {
        let parts: [&[u8]; 5] = [b"one", b"two", b"three", b"", b"four"];
        let expected: Vec<u8> = {
            let mut q = queue_of(&parts);
            let mut w = Trickle { written: Vec::new(), limit: usize::MAX, calls_left: 1, calls: 0 };
            assert_eq!(q.flush(&mut w).unwrap(), Flushed::All);
            assert_eq!(w.calls, 1, "one vectored write for everything");
            w.written
        };
        assert_eq!(expected, b"one<shared>twotwothree<shared>four<shared>");
        for limit in 1..expected.len() {
            let mut q = queue_of(&parts);
            let mut w = Trickle { written: Vec::new(), limit, calls_left: usize::MAX, calls: 0 };
            assert_eq!(q.flush(&mut w).unwrap(), Flushed::All);
            assert_eq!(w.written, expected, "limit {limit}");
            assert_eq!(q.pending(), 0);
        }
    }

    #[test]
    fn a_blocked_writer_keeps_the_rest() {
        let mut q = queue_of(&[b"hello", b"world"]);
        let total = q.pending();
        let mut w = Trickle { written: Vec::new(), limit: 7, calls_left: 1, calls: 0 };
        assert_eq!(q.flush(&mut w).unwrap(), Flushed::Blocked);
        assert_eq!(q.pending(), total - 7);
        w.calls_left = usize::MAX;
        assert_eq!(q.flush(&mut w).unwrap(), Flushed::All);
        assert_eq!(w.written, b"hello<shared>worldworld");
    }

    #[test]
    fn up_to_max_iovecs_chunks_are_one_write() {
        for n in [1, FEW_IOVECS - 1, FEW_IOVECS, FEW_IOVECS + 1, MAX_IOVECS, MAX_IOVECS + 1] {
            let mut q = OutQueue::default();
            let mut expected = Vec::new();
            for i in 0..n {
                let bytes = format!("<{i}>").into_bytes();
                expected.extend_from_slice(&bytes);
                q.push(Chunk::Owned(bytes));
            }
            let mut w = Trickle { written: Vec::new(), limit: usize::MAX, calls_left: usize::MAX, calls: 0 };
            assert_eq!(q.flush(&mut w).unwrap(), Flushed::All);
            assert_eq!(w.written, expected, "{n} chunks");
            assert_eq!(w.calls, n.div_ceil(MAX_IOVECS), "{n} chunks");
        }
    }

    #[test]
    fn many_chunks_take_several_writes() {
        let mut q = OutQueue::default();
        for _ in 0..1000 {
            q.push(Chunk::Static(b"x"));
        }
        let mut w = Trickle { written: Vec::new(), limit: usize::MAX, calls_left: usize::MAX, calls: 0 };
        q.flush(&mut w).unwrap();
        assert_eq!(w.written.len(), 1000);
        assert_eq!(w.calls, 1000usize.div_ceil(MAX_IOVECS));
    }
}
