// Splits a byte stream into size-prefixed frames. Sans-io: callers push chunks in.
import { DecodeError } from './codec.js';

/** A frame size prefix above the limit, or negative (Kafka's InvalidReceiveException). */
export class FrameTooLargeError extends DecodeError {
  readonly sizeBytes: number;
  constructor(sizeBytes: number, maxBytes: number) {
    super(
      sizeBytes < 0
        ? `invalid negative frame size ${sizeBytes}`
        : `frame of ${sizeBytes} bytes exceeds the limit of ${maxBytes} bytes`,
    );
    this.name = 'FrameTooLargeError';
    this.sizeBytes = sizeBytes;
  }
}

/**
 * Accumulates chunks and yields complete frames (without the 4-byte size). Memory is
 * bounded by `maxFrameBytes`: a frame is assembled only once all its bytes have arrived,
 * and a size above the limit (or negative) is an error before anything is buffered for it.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly maxFrameBytes: number;

  constructor(maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes;
  }

  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds a chunk and returns every frame now complete, in order. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.buffered < 4) break;
      const size = this.peekSize();
      if (size < 0 || size > this.maxFrameBytes) throw new FrameTooLargeError(size, this.maxFrameBytes);
      if (this.buffered < 4 + size) break;
      frames.push(this.take(4 + size, 4));
    }
    return frames;
  }

  private peekSize(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.alloc(4);
    let copied = 0;
    for (const c of this.chunks) {
      copied += c.copy(head, copied, 0, Math.min(c.length, 4 - copied));
      if (copied === 4) break;
    }
    return head.readInt32BE(0);
  }

  /**
   * Removes `n` bytes from the front and returns them without their first `skip` bytes;
   * zero-copy when they lie in one chunk.
   */
  private take(n: number, skip: number): Buffer {
    const first = this.chunks[0] as Buffer;
    this.buffered -= n;
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(skip, n);
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - copied);
      c.copy(out, copied, 0, k);
      copied += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out.subarray(skip);
  }
}
