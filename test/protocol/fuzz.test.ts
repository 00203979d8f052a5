// The seeded frame fuzzer (test/helpers/fuzz.ts): deterministic, covers every API and kind,
// and its frames, pushed through the sans-io request path (FrameDecoder, header, body), only
// ever produce DecodeErrors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeError, Reader } from '../../src/protocol/codec.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { API_SPECS } from '../../src/protocol/generated/apis.js';
import { decodeRequestBody, decodeRequestHeader } from '../../src/protocol/messages.js';
import { FUZZ_KINDS, fuzzCases, fuzzFrames, mutate, Rng, validRequestFrames } from '../helpers/fuzz.js';

const MAX_FRAME_BYTES = 1 << 20;

/** What a broker does with one frame's bytes (after the size prefix). */
function decodeRequest(frame: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  const r = new Reader(frame);
  const h = decodeRequestHeader(r);
  decodeRequestBody(h.requestApiKey as 0, h.requestApiVersion, r);
  if (r.remaining !== 0) throw new DecodeError(`${r.remaining} bytes after the request body`);
  return { apiKey: h.requestApiKey, apiVersion: h.requestApiVersion, correlationId: h.correlationId };
}

function onlyDecodeErrors(fn: () => void, context: string): 'ok' | 'error' {
  try {
    fn();
    return 'ok';
  } catch (err) {
    if (err instanceof DecodeError) return 'error';
    throw new Error(`${context}: ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

test('Rng and mutate are deterministic for a seed', () => {
  const a = new Rng(123);
  const b = new Rng(123);
  const xs = Array.from({ length: 50 }, () => a.nextUint32());
  assert.deepEqual(
    xs,
    Array.from({ length: 50 }, () => b.nextUint32()),
  );
  assert.ok(new Set(xs).size > 45, 'values vary');
  const input = Buffer.from('0123456789abcdef0123456789abcdef');
  assert.deepEqual(mutate(new Rng(9), input), mutate(new Rng(9), input));
  assert.equal(input.toString(), '0123456789abcdef0123456789abcdef', 'input untouched');
  const changed = Array.from({ length: 100 }, (_, i) => !mutate(new Rng(i), input).equals(input)).filter(Boolean);
  assert.ok(changed.length > 80, `only ${changed.length} of 100 mutations changed the input`);
});

test('validRequestFrames: one decodable frame per API key and version, same for the same seed', () => {
  const frames = validRequestFrames(42);
  const expected = API_SPECS.reduce((n, s) => n + s.maxVersion - s.minVersion + 1, 0);
  assert.equal(frames.length, expected);
  for (const f of frames) {
    assert.equal(f.frame.readInt32BE(0), f.frame.length - 4, 'size prefix');
    const decoded = decodeRequest(f.frame.subarray(4));
    assert.deepEqual(decoded, { apiKey: f.apiKey, apiVersion: f.apiVersion, correlationId: f.correlationId });
  }
  const again = validRequestFrames(42);
  assert.ok(Buffer.concat(again.map((f) => f.frame)).equals(Buffer.concat(frames.map((f) => f.frame))));
  const other = validRequestFrames(43);
  assert.ok(!Buffer.concat(other.map((f) => f.frame)).equals(Buffer.concat(frames.map((f) => f.frame))));
  assert.equal(validRequestFrames(1, { versions: 'latest', apiKeys: [0, 1] }).length, 2);
});

test('fuzzFrames is deterministic and produces every kind', () => {
  const a = fuzzFrames(7, 300, { maxFrameBytes: MAX_FRAME_BYTES });
  const b = fuzzFrames(7, 300, { maxFrameBytes: MAX_FRAME_BYTES });
  assert.equal(a.length, 300);
  assert.ok(Buffer.concat(a).equals(Buffer.concat(b)));
  assert.ok(!Buffer.concat(fuzzFrames(8, 300, { maxFrameBytes: MAX_FRAME_BYTES })).equals(Buffer.concat(a)));
  const kinds = new Set(fuzzCases(7, 300, { maxFrameBytes: MAX_FRAME_BYTES }).map((c) => c.kind));
  assert.deepEqual([...kinds].sort(), [...FUZZ_KINDS].sort());
  const onlyGarbage = fuzzCases(7, 50, { kinds: ['garbage'] });
  assert.ok(onlyGarbage.every((c) => c.kind === 'garbage'));
});

test('each fuzz frame on a fresh connection: only DecodeErrors, oversize sizes refused up front', () => {
  const cases = fuzzCases(2024, 4000, { maxFrameBytes: MAX_FRAME_BYTES });
  const outcomes = new Map<string, number>();
  cases.forEach((c, i) => {
    const fd = new FrameDecoder(MAX_FRAME_BYTES);
    const result = onlyDecodeErrors(
      () => {
        for (const frame of fd.push(c.bytes)) decodeRequest(frame);
      },
      `case ${i} (${c.kind}, api ${c.apiKey} v${c.apiVersion}): ${c.bytes.subarray(0, 64).toString('hex')}`,
    );
    const key = `${c.kind}:${result}`;
    outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
    if (c.kind === 'oversize-size') assert.equal(result, 'error', `case ${i}: oversize frame accepted`);
  });
  // Mutations must actually hit the decoder's error paths, and some mutants still decode.
  assert.ok((outcomes.get('mutated-body:error') ?? 0) > 100, JSON.stringify([...outcomes]));
  assert.ok((outcomes.get('mutated-header:error') ?? 0) > 50, JSON.stringify([...outcomes]));
});

test('all fuzz frames on one stream: decoding stops at the first DecodeError, never anything else', () => {
  for (let seed = 0; seed < 20; seed++) {
    const stream = Buffer.concat(fuzzFrames(seed, 200, { maxFrameBytes: MAX_FRAME_BYTES }));
    const fd = new FrameDecoder(MAX_FRAME_BYTES);
    // Feed in uneven chunks, as a socket would deliver them.
    const rng = new Rng(seed);
    onlyDecodeErrors(() => {
      for (let pos = 0; pos < stream.length; ) {
        const n = 1 + rng.int(4096);
        for (const frame of fd.push(stream.subarray(pos, pos + n))) decodeRequest(frame);
        pos += n;
      }
    }, `stream seed ${seed}`);
  }
});
