// resume.js — the wall's memory of where it is in its room's id sequence, so that a
// reconnect picks up exactly where it left off (INTERFACE.md, "Rooms over time").
//
// The server starts every /ws connection with {"type":"hello","room","epoch","last"}:
// `epoch` names one run of the room's ids, `last` is the room's latest id. The wall keeps
// the epoch and the last id it has seen and reconnects with `since=LAST&epoch=EPOCH`; the
// server then replays, in id order, every retained danmaku after LAST, then the live ones.
//
// Replay display policy: of the danmaku replayed on one connection (ids up to hello's
// `last`), only the newest `replayMax` (default 500, `?replaymax=N` on the wall, 0 to 1000)
// go through the queue and lanes, like live ones; older ones are counted as seen and
// skipped. 500 is the contract's queue cap ("a burst is queued ... up to a cap of at least
// 500 waiting", INTERFACE.md "Pages"): a wall that missed up to 500 danmaku shows them all
// ("a wall that drops for a few seconds still shows what it missed", "Rooms over time"),
// and a `replay=1` wall opened on a room holding its full history does not spend minutes
// replaying it. Counting ids rather than comparing `time` with the wall's clock keeps the
// policy deterministic when the projector laptop's clock is off. Live danmaku are always
// shown.

export const DEFAULT_REPLAY_MAX = 500;
const EPOCH = /^[A-Za-z0-9_-]{1,32}$/;

export class Resume {
  /**
   * @param {{replayFirst: boolean, replayMax: number}} options replayFirst: ask for
   *   since=0 on the very first connection (`/wall?replay=1`)
   */
  constructor({ replayFirst = false, replayMax = DEFAULT_REPLAY_MAX } = {}) {
    this.replayFirst = replayFirst;
    this.replayMax = replayMax;
    this.epoch = null; // the epoch our `last` belongs to; null until the first hello
    this.last = 0; // the highest id seen in that epoch
    this.first = true; // no connection attempted yet
    this.resyncing = false; // the current connection is a resync after a new epoch
    this.helloSeen = false; // on the current connection
    this.askedSince = false; // the current connection asked for a replay (since=)
    this.replayEnd = 0; // ids up to this one are this connection's replay
    this.showAbove = 0; // replayed ids up to this one are skipped (too old to fly)
  }

  /** Query parameters for the next connection attempt ("" or "&since=N[&epoch=E]"). */
  query() {
    const first = this.first;
    this.first = false;
    this.helloSeen = false;
    let q = '';
    if (this.epoch !== null) q = `&since=${this.last}&epoch=${encodeURIComponent(this.epoch)}`;
    else if (first && this.replayFirst) q = '&since=0';
    this.askedSince = q !== '';
    return q;
  }

  /**
   * A hello frame. Returns 'resync' when the room started a new epoch holding danmaku
   * we never saw: the caller should reconnect at once (asking since=0 of the new epoch)
   * and ignore the rest of this connection; otherwise 'ok'.
   */
  hello(h) {
    if (typeof h.epoch !== 'string' || !EPOCH.test(h.epoch)) return 'ok';
    const last = Number.isSafeInteger(h.last) && h.last >= 0 ? h.last : 0;
    this.helloSeen = true;
    const resyncing = this.resyncing;
    this.resyncing = false;
    if (this.epoch !== null && h.epoch !== this.epoch) {
      // A new run of ids: what we remember is about another sequence.
      this.epoch = h.epoch;
      this.last = 0;
      if (last > 0 && !resyncing) {
        this.resyncing = true;
        return 'resync';
      }
    } else if (this.epoch === null) {
      this.epoch = h.epoch;
      // Not asking for a replay: only what comes after the room's latest is ours.
      if (!this.askedSince) this.last = last;
    }
    this.replayEnd = last;
    this.showAbove = last - this.replayMax;
    return 'ok';
  }

  /**
   * A danmaku: 'show' it, 'skip' it (an old part of a long replay) or drop it as a
   * 'dup' (already seen in this epoch). Before any hello (a server without resume)
   * everything is shown and nothing is remembered.
   */
  accept(d) {
    if (!this.helloSeen || !Number.isSafeInteger(d.id)) return 'show';
    if (d.id <= this.last) return 'dup';
    this.last = d.id;
    if (d.id <= this.replayEnd && d.id <= this.showAbove) return 'skip';
    return 'show';
  }
}
