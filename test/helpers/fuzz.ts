// Seeded frame fuzzer, for the codec tests now and for the live broker later.
//
// Every function is deterministic given its seed, so a failure found against a broker can be
// replayed exactly (log the seed and the case index).
//
//   validRequestFrames(seed, opts?)  one valid, size-prefixed request frame per API key and
//                                    version (bodies from the spec-walking arbitraries), with
//                                    where the header ends, so callers can aim mutations.
//   fuzzCases(seed, count, opts?)    `count` hostile frames with their kind:
//                                      'garbage'        random body under a correct size prefix,
//                                                       half of them starting with a plausible
//                                                       api key and version
//                                      'mutated-body'   valid header, mutated body
//                                      'mutated-header' mutated header, valid body
//                                      'wrong-size'     valid frame whose size prefix is off by
//                                                       a little (desynchronises the stream)
//                                      'oversize-size'  size prefix above opts.maxFrameBytes or
//                                                       negative, followed by a few bytes
//   fuzzFrames(seed, count, opts?)   the same, bytes only (size prefix included).
//   mutate(rng, bytes)               1-3 random mutations: bit flips, byte overwrites,
//                                    truncation, insertion, deletion, duplication, and
//                                    length tampering (an int16/int32/varint overwritten with
//                                    values such as -1, 0, 0x7fffffff).
//   Rng                              the small seeded generator behind all of this.
import fc from 'fast-check';
import { Reader } from '../../src/protocol/codec.js';
import { API_SPECS } from '../../src/protocol/generated/apis.js';
import { decodeRequestHeader, encodeRequestFrame } from '../../src/protocol/messages.js';
import { loadApiSpecs, type MessageSpec, messageArbitrary } from './arbitrary.js';

/** mulberry32: a tiny, well-mixed 32-bit generator; plenty for test input. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Integer in [0, maxExclusive). */
  int(maxExclusive: number): number {
    return maxExclusive <= 0 ? 0 : Math.floor((this.nextUint32() / 2 ** 32) * maxExclusive);
  }
  chance(p: number): boolean {
    return this.nextUint32() / 2 ** 32 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  bytes(n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) b[i] = this.nextUint32() & 0xff;
    return b;
  }
}

export type MutationKind = 'bitflip' | 'byte' | 'truncate' | 'insert' | 'delete' | 'duplicate' | 'length';

const MUTATIONS: readonly MutationKind[] = ['bitflip', 'byte', 'truncate', 'insert', 'delete', 'duplicate', 'length'];

/** Values that make length fields interesting: null markers, zero, huge, sign boundaries. */
const INT32_EDGES = [-1, -2, 0, 1, 0x7f, 0x80, 0x7fff, 0x8000, 0xffff, 0x7fffffff, -0x80000000];
const VARINT_EDGES = [
  [0x00],
  [0x01],
  [0x7f],
  [0xff, 0x7f],
  [0xff, 0xff, 0xff, 0xff, 0x0f],
  [0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
  [0x80, 0x80, 0x80, 0x80, 0x80],
];

function mutateOnce(rng: Rng, b: Buffer, kind: MutationKind): Buffer {
  const at = rng.int(b.length + 1);
  switch (kind) {
    case 'bitflip': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      const i = rng.int(out.length);
      out[i] = (out[i] as number) ^ (1 << rng.int(8));
      return out;
    }
    case 'byte': {
      if (b.length === 0) return b;
      const out = Buffer.from(b);
      out[rng.int(out.length)] = rng.pick([0x00, 0xff, 0x7f, 0x80, rng.int(256)]);
      return out;
    }
    case 'truncate':
      return b.subarray(0, rng.int(b.length));
    case 'insert':
      return Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(8)), b.subarray(at)]);
    case 'delete':
      return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(8)))]);
    case 'duplicate': {
      const len = 1 + rng.int(16);
      return Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
    }
    case 'length': {
      const out = Buffer.from(b);
      const style = rng.int(3);
      if (style === 0 && out.length >= 2) {
        out.writeInt16BE(rng.pick([-1, -2, 0, 0x7fff, -0x8000, 1]), rng.int(out.length - 1));
      } else if (style === 1 && out.length >= 4) {
        out.writeInt32BE(rng.pick(INT32_EDGES), rng.int(out.length - 3));
      } else {
        const v = rng.pick(VARINT_EDGES);
        const i = rng.int(out.length + 1);
        return Buffer.concat([out.subarray(0, i), Buffer.from(v), out.subarray(Math.min(out.length, i + v.length))]);
      }
      return out;
    }
  }
}

/** Applies 1-3 random mutations. The result may alias `input`; `input` itself is not modified. */
export function mutate(rng: Rng, input: Buffer): Buffer {
  let b = input;
  const rounds = 1 + rng.int(3);
  for (let i = 0; i < rounds; i++) b = mutateOnce(rng, b, rng.pick(MUTATIONS));
  return b;
}

export interface ValidFrame {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  /** Size prefix, header and body. */
  frame: Buffer;
  /** Offset in `frame` where the body starts (4 + header length). */
  bodyOffset: number;
}

export interface ValidFrameOptions {
  /** Only these API keys (default: all). */
  apiKeys?: readonly number[];
  /** 'all' versions (default) or only each API's 'latest'. */
  versions?: 'all' | 'latest';
}

let apiSpecsCache: Map<number, { request: MessageSpec }> | undefined;

/** One valid request frame per API key and version, deterministic for a seed. */
export function validRequestFrames(seed: number, opts: ValidFrameOptions = {}): ValidFrame[] {
  apiSpecsCache ??= loadApiSpecs();
  const rng = new Rng(seed);
  const out: ValidFrame[] = [];
  for (const api of API_SPECS) {
    if (opts.apiKeys !== undefined && !opts.apiKeys.includes(api.apiKey)) continue;
    const spec = apiSpecsCache.get(api.apiKey);
    if (spec === undefined) throw new Error(`no spec for api key ${api.apiKey}`);
    const first = opts.versions === 'latest' ? api.maxVersion : api.minVersion;
    for (let v = first; v <= api.maxVersion; v++) {
      const [sample] = fc.sample(messageArbitrary(spec.request, v), { seed: rng.nextUint32() | 0, numRuns: 1 });
      if (sample === undefined) throw new Error('fast-check produced no sample');
      const correlationId = rng.nextUint32() | 0;
      const clientId = rng.chance(0.2) ? null : rng.pick(['', 'eddy-fuzz', 'rdkafka', 'ü-client']);
      const frame = Buffer.concat(
        encodeRequestFrame({
          apiKey: api.apiKey as never,
          apiVersion: v,
          correlationId,
          clientId,
          body: sample.input as never,
        }),
      );
      const r = new Reader(frame, 4);
      decodeRequestHeader(r);
      out.push({ apiKey: api.apiKey, apiVersion: v, correlationId, frame, bodyOffset: r.pos });
    }
  }
  return out;
}

export type FuzzKind = 'garbage' | 'mutated-body' | 'mutated-header' | 'wrong-size' | 'oversize-size';

export const FUZZ_KINDS: readonly FuzzKind[] = [
  'garbage',
  'mutated-body',
  'mutated-header',
  'wrong-size',
  'oversize-size',
];

export interface FuzzOptions extends ValidFrameOptions {
  /** The receiver's frame limit, for 'oversize-size' (default 100 MiB, Kafka's socket.request.max.bytes). */
  maxFrameBytes?: number;
  kinds?: readonly FuzzKind[];
  /** Largest garbage body (default 512 bytes). */
  maxGarbageBytes?: number;
}

export interface FuzzCase {
  kind: FuzzKind;
  /** The API the frame was derived from, when it was derived from a valid one. */
  apiKey: number | null;
  apiVersion: number | null;
  /** Size prefix included. */
  bytes: Buffer;
}

function withSize(body: Buffer): Buffer {
  const size = Buffer.allocUnsafe(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

const validCache = new Map<string, ValidFrame[]>();

function validFor(seed: number, opts: ValidFrameOptions): ValidFrame[] {
  const key = `${seed}|${opts.apiKeys?.join(',') ?? '*'}|${opts.versions ?? 'all'}`;
  let frames = validCache.get(key);
  if (frames === undefined) {
    frames = validRequestFrames(seed, opts);
    validCache.set(key, frames);
  }
  return frames;
}

/** `count` hostile frames with their kinds; deterministic for a seed and options. */
export function fuzzCases(seed: number, count: number, opts: FuzzOptions = {}): FuzzCase[] {
  const rng = new Rng(seed ^ 0x5eed);
  const kinds = opts.kinds ?? FUZZ_KINDS;
  const maxFrameBytes = opts.maxFrameBytes ?? 100 * 1024 * 1024;
  const maxGarbage = opts.maxGarbageBytes ?? 512;
  const needValid = kinds.some((k) => k !== 'garbage');
  const valid = needValid ? validFor(seed, opts) : [];
  const out: FuzzCase[] = [];
  for (let i = 0; i < count; i++) {
    const kind = rng.pick(kinds);
    if (kind === 'garbage') {
      const body = rng.bytes(rng.int(maxGarbage + 1));
      let apiKey: number | null = null;
      let apiVersion: number | null = null;
      if (body.length >= 4 && rng.chance(0.5)) {
        const api = rng.pick(API_SPECS);
        apiKey = api.apiKey;
        apiVersion = api.minVersion + rng.int(api.maxVersion - api.minVersion + 2); // sometimes one past max
        body.writeInt16BE(apiKey, 0);
        body.writeInt16BE(apiVersion, 2);
      }
      out.push({ kind, apiKey, apiVersion, bytes: withSize(body) });
      continue;
    }
    const base = rng.pick(valid);
    const header = base.frame.subarray(4, base.bodyOffset);
    const body = base.frame.subarray(base.bodyOffset);
    let bytes: Buffer;
    switch (kind) {
      case 'mutated-body':
        bytes = withSize(Buffer.concat([header, mutate(rng, body)]));
        break;
      case 'mutated-header':
        bytes = withSize(Buffer.concat([mutate(rng, header), body]));
        break;
      case 'wrong-size': {
        bytes = Buffer.from(base.frame);
        const delta = (1 + rng.int(16)) * (rng.chance(0.5) ? 1 : -1);
        bytes.writeInt32BE(Math.max(0, base.frame.length - 4 + delta), 0);
        break;
      }
      case 'oversize-size': {
        bytes = Buffer.from(base.frame.subarray(0, Math.min(base.frame.length, 4 + rng.int(32))));
        const size = rng.pick([maxFrameBytes + 1, maxFrameBytes + 1 + rng.int(1 << 20), 0x7fffffff, -1, -0x80000000]);
        bytes.writeInt32BE(Math.min(size, 0x7fffffff), 0);
        break;
      }
    }
    out.push({ kind, apiKey: base.apiKey, apiVersion: base.apiVersion, bytes });
  }
  return out;
}

/** `count` hostile frames (size prefix included); deterministic for a seed and options. */
export function fuzzFrames(seed: number, count: number, opts: FuzzOptions = {}): Buffer[] {
  return fuzzCases(seed, count, opts).map((c) => c.bytes);
}
