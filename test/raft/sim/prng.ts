// A small seeded PRNG for simulations: a Weyl sequence through the murmur3 32-bit finalizer.
// Deterministic across platforms (32-bit integer arithmetic only).

export class Prng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds give unrelated streams.
    this.state = Prng.mix((seed >>> 0) ^ 0x5bd1e995) >>> 0;
  }

  private static mix(x: number): number {
    let z = x >>> 0;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    return Prng.mix(this.state);
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** A new independent stream derived from this one and a label. */
  fork(label: number): Prng {
    return new Prng(Prng.mix(this.nextUint32() ^ Math.imul(label + 1, 0x27d4eb2f)));
  }
}
