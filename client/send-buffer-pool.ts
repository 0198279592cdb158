/**
 * Large request buffers kept between calls, so that writing a large request goes into memory that is
 * already mapped. glibc's malloc maps every allocation above its mmap threshold (at most 32 MiB) afresh
 * from the kernel, and the kernel zero-fills each 4 KiB page on first touch: writing a new 64 MiB
 * message costs about ten times a copy into memory already touched (docs/client-performance.md).
 *
 * A buffer is lent to one call at a time and comes back only when that call's bytes can no longer be
 * read (TfServingClient decides when; see `release` there). Buffers are grouped by capacity class
 * (8 classes per power of two, so at most 12.5% of a buffer goes unused), the pool never owns more than
 * `maxBytes` (lent and idle together; a request beyond that gets a buffer of its own, as without the
 * pool), and idle buffers are dropped after `idleMs` without a pooled request.
 */
import { RequestError } from "./errors";

const MiB = 1024 * 1024;

export interface SendBufferPoolOptions {
  /**
   * Most bytes of buffers the pool owns, lent to calls in flight and idle together (capacities, which
   * round a request up by at most 12.5%). A request that does not fit gets a buffer of its own. 0 turns
   * the pool off.
   * @default 268435456 (256 MiB)
   */
  maxBytes?: number;
  /**
   * Smallest request that is written into a pooled buffer; smaller ones are allocated per call, which
   * costs little below a few MiB.
   * @default 1048576 (1 MiB)
   */
  minBytes?: number;
  /**
   * Idle buffers are dropped (left to the garbage collector) after this many milliseconds without a
   * pooled request.
   * @default 30000
   */
  idleMs?: number;
}

export const DEFAULT_SEND_BUFFER_POOL: Readonly<Required<SendBufferPoolOptions>> = {
  maxBytes: 256 * MiB,
  minBytes: 1 * MiB,
  idleMs: 30_000,
};

/** What the pool holds and how it has served requests so far. */
export interface SendBufferPoolStats {
  /** The cap: most bytes the pool owns. 0 when the pool is off. */
  maxBytes: number;
  /** Bytes of buffers the pool owns now, lent and idle. */
  ownedBytes: number;
  /** Bytes of those that are idle, waiting for the next large request. */
  idleBytes: number;
  /** Buffers lent to calls that have not released them yet. */
  lent: number;
  /** Requests written into a buffer that an earlier call had used (memory already mapped). */
  reused: number;
  /** Requests for which the pool allocated a new buffer (the first of their class, or after a drop). */
  allocated: number;
  /** Requests of at least `minBytes` written into a buffer of their own because the pool was full. */
  overflowed: number;
}

/** Memory for one request: `bytes` is exactly the request's size. Call `release` once, when nothing can read it any more. */
export interface SendBuffer {
  readonly bytes: Buffer;
  release(): void;
}

/** The capacity class of a request of `size` bytes: rounded up to a multiple of an eighth of its power of two. */
export function capacityClass(size: number): number {
  if (size <= 8) return 8;
  const power = 2 ** Math.floor(Math.log2(size));
  const step = power / 8;
  return Math.ceil(size / step) * step;
}

function checkedOptions(options: SendBufferPoolOptions): Required<SendBufferPoolOptions> {
  const merged = { ...DEFAULT_SEND_BUFFER_POOL, ...options };
  for (const field of ["maxBytes", "minBytes", "idleMs"] as const) {
    const value = merged[field];
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new RequestError(`sendBufferPool.${field} must be a non-negative integer (got ${String(value)})`);
    }
  }
  return merged;
}

interface IdleBuffer {
  capacity: number;
  buffer: Buffer;
}

const unpooled = (size: number): SendBuffer => ({ bytes: Buffer.allocUnsafe(size), release: () => undefined });

export class SendBufferPool {
  private readonly options: Required<SendBufferPoolOptions>;
  /** Idle buffers, the least recently released first. */
  private idle: IdleBuffer[] = [];
  private ownedBytes = 0;
  private idleBytes = 0;
  private lent = 0;
  private counts = { reused: 0, allocated: 0, overflowed: 0 };
  private lastUse = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(options: SendBufferPoolOptions | false = {}) {
    this.options = options === false ? { ...DEFAULT_SEND_BUFFER_POOL, maxBytes: 0 } : checkedOptions(options);
  }

  /** Whether requests of at least `minBytes` are pooled. */
  get enabled(): boolean {
    return this.options.maxBytes > 0 && !this.closed;
  }

  /** A buffer for a request of `size` bytes: pooled when large enough and room allows, else a new one. */
  acquire(size: number): SendBuffer {
    if (size < this.options.minBytes || !this.enabled) return unpooled(size);
    this.lastUse = Date.now();
    const capacity = capacityClass(size);
    // The most recently released buffer of the class: its pages are the likeliest still in the CPU's caches.
    for (let i = this.idle.length - 1; i >= 0; i--) {
      if (this.idle[i]!.capacity !== capacity) continue;
      const [{ buffer }] = this.idle.splice(i, 1) as [IdleBuffer];
      this.idleBytes -= capacity;
      this.counts.reused++;
      return this.lend(buffer, capacity, size);
    }
    // Make room by dropping idle buffers of other classes, the least recently used first.
    while (this.ownedBytes + capacity > this.options.maxBytes && this.idle.length > 0) this.drop(this.idle.shift()!);
    if (this.ownedBytes + capacity > this.options.maxBytes) {
      this.counts.overflowed++;
      return unpooled(size);
    }
    this.ownedBytes += capacity;
    this.counts.allocated++;
    return this.lend(Buffer.allocUnsafeSlow(capacity), capacity, size);
  }

  stats(): SendBufferPoolStats {
    return { maxBytes: this.enabled ? this.options.maxBytes : 0, ownedBytes: this.ownedBytes, idleBytes: this.idleBytes, lent: this.lent, ...this.counts };
  }

  /** Drops every idle buffer; buffers lent now are dropped when released. The pool lends nothing more. */
  close(): void {
    this.closed = true;
    this.dropIdle();
  }

  private lend(buffer: Buffer, capacity: number, size: number): SendBuffer {
    this.lent++;
    let released = false;
    return {
      bytes: buffer.subarray(0, size),
      release: () => {
        if (released) return;
        released = true;
        this.lent--;
        if (this.closed) {
          this.ownedBytes -= capacity;
          return;
        }
        this.lastUse = Date.now();
        this.idle.push({ capacity, buffer });
        this.idleBytes += capacity;
        this.scheduleIdleDrop();
      },
    };
  }

  private drop(entry: IdleBuffer): void {
    this.idleBytes -= entry.capacity;
    this.ownedBytes -= entry.capacity;
  }

  private dropIdle(): void {
    for (const entry of this.idle) this.drop(entry);
    this.idle = [];
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  /** Drops idle buffers once `idleMs` have passed without a pooled request; the timer never keeps the process alive. */
  private scheduleIdleDrop(): void {
    if (this.idleTimer) return;
    const check = () => {
      this.idleTimer = undefined;
      const quiet = Date.now() - this.lastUse;
      if (quiet >= this.options.idleMs) this.dropIdle();
      else if (this.idle.length > 0) this.arm(check, this.options.idleMs - quiet);
    };
    this.arm(check, this.options.idleMs);
  }

  private arm(check: () => void, delayMs: number): void {
    this.idleTimer = setTimeout(check, delayMs);
    this.idleTimer.unref();
  }
}
