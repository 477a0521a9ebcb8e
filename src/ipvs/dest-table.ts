/**
 * Per-real-server state the data path and the schedulers read, as typed arrays indexed by a
 * dest id. A dest id stays valid while any connection references it (IPVS keeps deleted dests
 * in a "trash" for the same reason), so connections hold ids, never objects.
 */

/** Set while the dest is in its service's list; cleared by delete. */
export const DEST_AVAILABLE = 0x01;
/** Connection threshold reached (-x / -y). */
export const DEST_OVERLOAD = 0x02;

/**
 * Entries the change log keeps (a power of two). A reader that fell further behind than this has
 * lost entries and must rebuild whatever it derived from the table.
 */
export const CHANGE_LOG_SIZE = 1 << 16;

export class DestTable {
  capacity: number;
  count = 0;
  weight: Int32Array;
  /** Latest non-zero weight (mh keeps slots of quiesced dests). */
  lastWeight: Int32Array;
  uThreshold: Int32Array;
  lThreshold: Int32Array;
  activeConns: Int32Array;
  inactConns: Int32Array;
  persistConns: Int32Array;
  flags: Uint8Array;
  /** 4 or 6. */
  af: Uint8Array;
  /** Address as four big-endian 32-bit words (IPv4 uses word 0 only). */
  addr: Uint32Array;
  port: Uint16Array;
  /** ForwardMethod of the dest. */
  method: Uint8Array;
  /** Index of the owning service. */
  service: Int32Array;
  /**
   * The change log: ids of dests whose weight, flags or connection counts were written, oldest
   * first, in a ring of CHANGE_LOG_SIZE entries. Every writer of those fields calls touch(id)
   * after writing, so a scheduler that keeps an index over its list (src/sched/list-tracker.ts)
   * refreshes only the dests touched since its last decision instead of walking the list.
   */
  readonly changeLog = new Int32Array(CHANGE_LOG_SIZE);
  /** Entries written so far: the log's write position (a double, exact far beyond any run). */
  changeCount = 0;
  /**
   * Off until a reader first indexes a list (ListTracker.reindex), so that tables whose schedulers
   * keep no index (rr, sh, mh, ...) pay only this test per touch. Never turned off again.
   */
  changeLogOn = false;

  constructor(capacity = 64) {
    this.capacity = capacity;
    this.weight = new Int32Array(capacity);
    this.lastWeight = new Int32Array(capacity);
    this.uThreshold = new Int32Array(capacity);
    this.lThreshold = new Int32Array(capacity);
    this.activeConns = new Int32Array(capacity);
    this.inactConns = new Int32Array(capacity);
    this.persistConns = new Int32Array(capacity);
    this.flags = new Uint8Array(capacity);
    this.af = new Uint8Array(capacity);
    this.addr = new Uint32Array(capacity * 4);
    this.port = new Uint16Array(capacity);
    this.method = new Uint8Array(capacity);
    this.service = new Int32Array(capacity);
  }

  /** Records that dest `id`'s weight, flags or connection counts changed (after the write). */
  touch(id: number): void {
    if (!this.changeLogOn) return;
    this.changeLog[this.changeCount & (CHANGE_LOG_SIZE - 1)] = id;
    this.changeCount++;
  }

  /** Reserves a new dest id, growing the arrays when needed. */
  allocate(): number {
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    return this.count++;
  }

  private grow(capacity: number): void {
    const copy = <T extends Int32Array | Uint8Array | Uint16Array | Uint32Array>(a: T, per: number): T => {
      const b = new (a.constructor as { new (n: number): T })(capacity * per);
      b.set(a);
      return b;
    };
    this.weight = copy(this.weight, 1);
    this.lastWeight = copy(this.lastWeight, 1);
    this.uThreshold = copy(this.uThreshold, 1);
    this.lThreshold = copy(this.lThreshold, 1);
    this.activeConns = copy(this.activeConns, 1);
    this.inactConns = copy(this.inactConns, 1);
    this.persistConns = copy(this.persistConns, 1);
    this.flags = copy(this.flags, 1);
    this.af = copy(this.af, 1);
    this.addr = copy(this.addr, 4);
    this.port = copy(this.port, 1);
    this.method = copy(this.method, 1);
    this.service = copy(this.service, 1);
    this.capacity = capacity;
  }
}
