// Malformed input must end in a DecodeError (or a subclass), never a crash, a hang, a
// different exception type, or an allocation sized by the attacker.
//
// Decision on invalid UTF-8: accepted, as Kafka accepts it (Java's `new String(bytes, UTF_8)`
// substitutes U+FFFD); Node's decoder substitutes U+FFFD too. Such a string does not re-encode
// to the same bytes, which is fine: it was never valid UTF-8.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DecodeError, Reader, readTaggedFields, Writer } from '../../src/protocol/codec.js';
import { UnsupportedVersionError } from '../../src/protocol/codec-runtime.js';
import { FrameDecoder, FrameTooLargeError } from '../../src/protocol/framing.js';
import { decodeMetadataRequest } from '../../src/protocol/generated/api/metadata.js';
import { decodeProduceRequest, encodeProduceRequest } from '../../src/protocol/generated/api/produce.js';
import { API_SPECS } from '../../src/protocol/generated/apis.js';
import { decodeResponseHeader as decodeResponseHeaderRaw } from '../../src/protocol/generated/headers.js';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseBody,
  encodeRequestFrame,
} from '../../src/protocol/messages.js';
import { loadApiSpecs, messageArbitrary } from '../helpers/arbitrary.js';
import { mutate, Rng } from '../helpers/fuzz.js';

type Decode = (r: Reader, version: number) => unknown;
type Encode = (w: Writer, m: never, version: number) => void;

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

/** Runs `fn`; passes if it returns or throws a DecodeError, rethrows anything else. */
function onlyDecodeErrors(fn: () => unknown, context: () => string): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof DecodeError) return;
    throw new Error(`${context()}: threw ${(err as Error)?.name}: ${(err as Error)?.message}`, { cause: err });
  }
}

function assertDecodeError(fn: () => unknown, pattern?: RegExp): DecodeError {
  try {
    fn();
  } catch (err) {
    assert.ok(
      err instanceof DecodeError,
      `expected a DecodeError, got ${(err as Error)?.name}: ${(err as Error)?.message}`,
    );
    if (pattern) assert.match(err.message, pattern);
    return err;
  }
  assert.fail('expected a DecodeError, but decoding succeeded');
}

const apiSpecs = loadApiSpecs();

/** A valid encoding of each API's request and response at a given version, fixed seed. */
function sampleMessages(version: (min: number, max: number) => number): {
  name: string;
  version: number;
  bytes: Buffer;
  decode: Decode;
}[] {
  const out = [];
  for (const api of API_SPECS) {
    const pair = apiSpecs.get(api.apiKey);
    assert.ok(pair);
    const v = version(api.minVersion, api.maxVersion);
    for (const [spec, encode, decode] of [
      [pair.request, api.encodeRequest, api.decodeRequest],
      [pair.response, api.encodeResponse, api.decodeResponse],
    ] as const) {
      const [sample] = fc.sample(messageArbitrary(spec, v), { seed: 7 + api.apiKey, numRuns: 1 });
      assert.ok(sample);
      const w = new Writer();
      (encode as Encode)(w, sample.input as never, v);
      out.push({ name: `${spec.name} v${v}`, version: v, bytes: w.finish(), decode });
    }
  }
  return out;
}

test('truncating a real message at every cut point gives a DecodeError', () => {
  let cuts = 0;
  for (const pick of [(min: number) => min, (_: number, max: number) => max]) {
    for (const m of sampleMessages(pick)) {
      m.decode(new Reader(m.bytes), m.version); // the whole message decodes
      for (let cut = 0; cut < m.bytes.length; cut++) {
        assertDecodeError(() => m.decode(new Reader(m.bytes.subarray(0, cut)), m.version));
        cuts++;
      }
    }
  }
  assert.ok(cuts > 1000, `only ${cuts} cut points tried`);
});

test('a frame cut anywhere is held back by the FrameDecoder, and its header+body prefix fails to decode', () => {
  const frame = Buffer.concat(
    encodeRequestFrame({
      apiKey: 0,
      apiVersion: 9,
      correlationId: 5,
      clientId: 'c',
      body: {
        acks: 1,
        timeoutMs: 100,
        topicData: [{ name: 'topic', partitionData: [{ index: 0, records: hex('00ff') }] }],
      },
    }),
  );
  for (let cut = 0; cut < frame.length; cut++) {
    const fd = new FrameDecoder(1 << 20);
    assert.deepEqual(fd.push(frame.subarray(0, cut)), [], `cut ${cut}`);
    const rest = fd.push(frame.subarray(cut));
    assert.equal(rest.length, 1);
    assert.ok((rest[0] as Buffer).equals(frame.subarray(4)));
    if (cut > 4) {
      const partial = frame.subarray(4, cut);
      assertDecodeError(() => {
        const r = new Reader(partial);
        const h = decodeRequestHeader(r);
        decodeRequestBody(h.requestApiKey as 0, h.requestApiVersion, r);
      });
    }
  }
});

test('negative lengths other than the null marker are rejected', () => {
  assertDecodeError(() => new Reader(hex('fffe')).nullableString(false), /invalid string length -2/);
  assertDecodeError(() => new Reader(hex('8000')).nullableString(false), /invalid string length/);
  assertDecodeError(() => new Reader(hex('fffffffe')).nullableBytes(false), /invalid bytes length -2/);
  assertDecodeError(() => new Reader(hex('fffffffe')).arrayLength(false), /invalid array length -2/);
  assertDecodeError(() => new Reader(hex('80000000')).arrayLength(false), /invalid array length/);
  // -1 (null) where the field is not nullable: Produce v3 topic name.
  assertDecodeError(
    () => decodeProduceRequest(new Reader(hex('ffff 0001 00000000 00000001 ffff 00000000')), 3),
    /null value for non-nullable string/,
  );
  // Null array where not nullable: Produce v3 topic data.
  assertDecodeError(() => decodeProduceRequest(new Reader(hex('ffff 0001 00000000 ffffffff')), 3), /null array/);
});

test('lengths past the end of the input are rejected', () => {
  assertDecodeError(() => new Reader(hex('0005 616263')).string(false), /truncated/);
  assertDecodeError(() => new Reader(hex('06 616263')).string(true), /truncated/);
  assertDecodeError(() => new Reader(hex('00000010 01')).bytes(false), /truncated/);
  assertDecodeError(() => new Reader(hex('ffffffff0f')).bytes(true), /truncated/);
  assertDecodeError(() => new Reader(hex('8001 61')).string(true), /truncated input: need 127 bytes/);
  // A string longer than Kafka's 0x7fff-byte limit is refused even if the bytes are there.
  const long = Buffer.concat([hex('818002'), Buffer.alloc(0x8000, 0x61)]); // compact length 0x8000
  assertDecodeError(() => new Reader(long).string(true), /exceeds 32767/);
});

test('huge array counts fail before anything is allocated for them', () => {
  // Produce v3: transactional id, acks, timeout, then topic count 0x7fffffff with 4 bytes left.
  const classic = hex('ffff 0001 00000000 7fffffff 00000000');
  // Produce v9 (compact): topic count uvarint 0xffffffff.
  const compact = hex('00 0001 00000000 ffffffff0f 00');
  const before = process.memoryUsage();
  for (let i = 0; i < 20000; i++) {
    assertDecodeError(
      () => decodeProduceRequest(new Reader(classic), 3),
      /array length 2147483647 exceeds remaining 4/,
    );
    assertDecodeError(() => decodeProduceRequest(new Reader(compact), 9), /array length 4294967294 exceeds remaining/);
  }
  const after = process.memoryUsage();
  // 40k decodes that each allocated even 1 KiB per claimed element would be terabytes.
  assert.ok(after.arrayBuffers - before.arrayBuffers < 64 * 1024 * 1024);
  assert.ok(after.heapUsed - before.heapUsed < 256 * 1024 * 1024);
  // Tagged-field counts are bounded the same way.
  assertDecodeError(() => readTaggedFields(new Reader(hex('ffffffff0f 00')), null), /tagged field count/);
});

test('over-long varints are rejected', () => {
  assertDecodeError(() => new Reader(hex('ffffffffff01')).uvarint(), /varint too long/);
  assertDecodeError(() => new Reader(hex('8080808010')).uvarint(), /varint too long/);
  assertDecodeError(() => new Reader(hex('80808080808080808080 01')).varlong(), /varlong too long/);
  assertDecodeError(() => new Reader(hex('ffffffffffffffffff02')).varlong(), /varlong too long/);
  assertDecodeError(() => new Reader(hex('ffff')).uvarint(), /truncated varint/);
  // As a compact length inside a message: Produce v9 transactional id.
  assertDecodeError(() => decodeProduceRequest(new Reader(hex('ffffffffff01 0001')), 9), /varint too long/);
});

test('tagged fields out of order, duplicated, oversized or mis-sized are rejected', () => {
  // ResponseHeader v1: correlation id, then the tagged section.
  const header = (tagged: string): Buffer => hex(`00000001 ${tagged}`);
  assert.deepEqual(decodeResponseHeaderRaw(new Reader(header('02 01 01 aa 03 00')), 1), {
    correlationId: 1,
    _unknownTaggedFields: [
      { tag: 1, data: hex('aa') },
      { tag: 3, data: Buffer.alloc(0) },
    ],
  });
  assertDecodeError(() => decodeResponseHeaderRaw(new Reader(header('02 03 00 01 00')), 1), /out of order: 1 after 3/);
  assertDecodeError(() => decodeResponseHeaderRaw(new Reader(header('02 02 00 02 00')), 1), /out of order: 2 after 2/);
  assertDecodeError(() => decodeResponseHeaderRaw(new Reader(header('01 00 05 aa')), 1), /truncated/);
  assertDecodeError(() => decodeResponseHeaderRaw(new Reader(header('05 00 00')), 1), /tagged field count 5/);
  // A known tagged field whose declared size is larger than its value: ApiVersions v3
  // response, tag 3 (ZkMigrationReady, a bool) declared as 2 bytes.
  const apiVersions = API_SPECS[18];
  assert.ok(apiVersions);
  assertDecodeError(
    () => apiVersions.decodeResponse(new Reader(hex('0000 01 00000000 01 03 02 01 01')), 3),
    /tagged field 3 declares 2 bytes but uses 1/,
  );
});

test('invalid UTF-8 is accepted with replacement characters, as Kafka does', () => {
  assert.equal(new Reader(hex('0002 c328')).string(false), '\ufffd(');
  assert.equal(new Reader(hex('03 ff61')).string(true), '\ufffda');
  // In a message: a Metadata v4 request for topic "\xff".
  const req = decodeMetadataRequest(new Reader(hex('00000001 0001 ff 01')), 4);
  assert.deepEqual(req.topics, [{ topicId: 'AAAAAAAAAAAAAAAAAAAAAA', name: '\ufffd' }]);
});

test('FrameDecoder rejects negative and oversized sizes before buffering the frame', () => {
  const neg = new FrameDecoder(1000);
  const err = assertDecodeError(() => neg.push(hex('ffffffff 00')));
  assert.ok(err instanceof FrameTooLargeError);
  assert.match(err.message, /invalid negative frame size -1/);

  const big = new FrameDecoder(1000);
  assert.deepEqual(big.push(hex('0000')), []);
  const tooBig = assertDecodeError(() => big.push(hex('03e9')), /1001 bytes exceeds the limit of 1000/);
  assert.ok(tooBig instanceof FrameTooLargeError);
  assert.ok(big.bufferedBytes <= 4, 'nothing of the frame body was buffered');

  const exact = new FrameDecoder(3);
  assert.deepEqual(exact.push(hex('00000003 616263 00000000')), [hex('616263'), Buffer.alloc(0)]);

  // Sizes split across chunks, several frames in one chunk.
  const fd = new FrameDecoder(100);
  const frames = [...fd.push(hex('00')), ...fd.push(hex('0000')), ...fd.push(hex('01aa00000002bbcc0000'))];
  assert.deepEqual(frames, [hex('aa'), hex('bbcc')]);
  assert.equal(fd.bufferedBytes, 2);
});

test('versions outside the spec and unknown api keys give typed errors', () => {
  const produce = API_SPECS[0];
  assert.ok(produce);
  const e = assertDecodeError(() => produce.decodeRequest(new Reader(Buffer.alloc(64)), 99));
  assert.ok(e instanceof UnsupportedVersionError);
  assert.throws(
    () => encodeProduceRequest(new Writer(), { acks: 1, timeoutMs: 1, topicData: [] }, -1),
    UnsupportedVersionError,
  );
  assertDecodeError(() => decodeRequestBody(999 as 0, 0, new Reader(Buffer.alloc(8))), /unknown api key/);
  assertDecodeError(() => decodeResponseBody(-1 as 0, 0, new Reader(Buffer.alloc(8))), /unknown api key/);
  assertDecodeError(() => decodeRequestHeader(new Reader(hex('0001'))), /shorter than its header/);
});

test('property: mutated requests and responses of every API only ever fail with DecodeError', () => {
  for (const api of API_SPECS) {
    const pair = apiSpecs.get(api.apiKey);
    assert.ok(pair);
    const versionArb = fc.integer({ min: api.minVersion, max: api.maxVersion });
    for (const [spec, encode, decode] of [
      [pair.request, api.encodeRequest, api.decodeRequest],
      [pair.response, api.encodeResponse, api.decodeResponse],
    ] as const) {
      const arb = versionArb.chain((v) =>
        fc.tuple(
          fc.constant(v),
          messageArbitrary(spec, v),
          fc.integer(),
          fc.integer({ min: api.minVersion, max: api.maxVersion }),
        ),
      );
      fc.assert(
        fc.property(arb, ([v, pair, seed, decodeVersion]) => {
          const w = new Writer();
          (encode as Encode)(w, pair.input as never, v);
          const mutated = mutate(new Rng(seed), w.finish());
          // Usually decode at the encoding's version; sometimes at another one, which is
          // what a header/body version mismatch looks like to the decoder.
          const at = seed % 4 === 0 ? decodeVersion : v;
          onlyDecodeErrors(
            () => decode(new Reader(mutated), at),
            () => `${spec.name} v${v} decoded at v${at}, input ${mutated.toString('hex')}`,
          );
        }),
        { numRuns: 200 },
      );
    }
  }
});

test('property: garbage request frames only ever fail with DecodeError', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 300 }),
      fc.integer({ min: 0, max: 87 }),
      fc.integer({ min: -2, max: 20 }),
      (body, apiKey, v) => {
        const b = Buffer.from(body);
        if (b.length >= 4 && v >= 0) {
          b.writeInt16BE(apiKey, 0);
          b.writeInt16BE(v, 2);
        }
        onlyDecodeErrors(
          () => {
            const r = new Reader(b);
            const h = decodeRequestHeader(r);
            decodeRequestBody(h.requestApiKey as 0, h.requestApiVersion, r);
          },
          () => b.toString('hex'),
        );
      },
    ),
    { numRuns: 5000 },
  );
});
