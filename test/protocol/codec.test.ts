// Properties of the wire primitives in src/protocol/codec.ts, beyond what the message
// round-trips reach: full numeric ranges of the varints, unicode strings, and the Writer's
// zero-copy chunking of large byte fields.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_STRING_BYTES, Reader, Writer } from '../../src/protocol/codec.js';

function roundTrip<T>(write: (w: Writer, v: T) => void, read: (r: Reader) => T, v: T): T {
  const w = new Writer(4);
  write(w, v);
  const r = new Reader(w.finish());
  const out = read(r);
  assert.equal(r.remaining, 0);
  return out;
}

test('uvarint, varint and varlong round-trip over their whole ranges', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => {
      assert.equal(
        roundTrip(
          (w, v) => w.uvarint(v),
          (r) => r.uvarint(),
          n,
        ),
        n,
      );
    }),
  );
  fc.assert(
    fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (n) => {
      assert.equal(
        roundTrip(
          (w, v) => w.varint(v),
          (r) => r.varint(),
          n,
        ),
        n,
      );
    }),
  );
  // Every integer-valued double in the int64 range is exactly an int64, so it must survive.
  const int64Doubles = fc.oneof(
    fc.maxSafeInteger(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => Number(b)),
    fc.constantFrom(-(2 ** 63), 2 ** 63, 2 ** 52, -(2 ** 52), 2 ** 52 - 1, -(2 ** 52) + 1),
  );
  fc.assert(
    fc.property(int64Doubles, (n) => {
      assert.equal(
        roundTrip(
          (w, v) => w.varlong(v),
          (r) => r.varlong(),
          n,
        ),
        n,
      );
      assert.equal(
        roundTrip(
          (w, v) => w.int64(v),
          (r) => r.int64(),
          n,
        ),
        n,
      );
    }),
    { numRuns: 2000 },
  );
});

test('varlong agrees with a BigInt reference encoding', () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), (b) => {
      let zz = ((b << 1n) ^ (b >> 63n)) & 0xffffffffffffffffn;
      const bytes: number[] = [];
      while (zz >= 128n) {
        bytes.push(Number(zz & 0x7fn) | 0x80);
        zz >>= 7n;
      }
      bytes.push(Number(zz));
      const w = new Writer(4);
      w.varlong(Number(b));
      assert.deepEqual([...w.finish()], bytes);
    }),
  );
});

test('strings of any unicode round-trip in both encodings; the 0x7fff-byte cap applies to both', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 64 }), fc.boolean(), (s, compact) => {
      assert.equal(
        roundTrip(
          (w, v) => w.string(v, compact),
          (r) => r.string(compact),
          s,
        ),
        s,
      );
    }),
  );
  const longest = 'x'.repeat(MAX_STRING_BYTES);
  assert.equal(
    roundTrip(
      (w, v) => w.string(v, true),
      (r) => r.string(true),
      longest,
    ),
    longest,
  );
  assert.throws(() => new Writer().string(`${longest}x`, true), RangeError);
  assert.throws(() => new Writer().string('é'.repeat(20000), false), RangeError);
});

test('Writer keeps large byte fields as separate chunks and finish() joins them in order', () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 4000, max: 20000 })), { maxLength: 8 }),
      (sizes) => {
        const w = new Writer(16);
        const parts: Buffer[] = [];
        sizes.forEach((size, i) => {
          const b = Buffer.alloc(size, i + 1);
          w.int32(i);
          w.bytes(b, true);
          parts.push(b);
        });
        const chunks = w.finishChunks();
        const whole = w.finish();
        assert.equal(whole.length, w.length);
        assert.ok(Buffer.concat(chunks).equals(whole));
        // Large payloads are referenced, not copied.
        for (const p of parts) if (p.length >= 4096) assert.ok(chunks.includes(p));
        const r = new Reader(whole);
        sizes.forEach((size, i) => {
          assert.equal(r.int32(), i);
          const b = r.bytes(true);
          assert.equal(b.length, size);
          assert.ok(b.every((x) => x === i + 1));
        });
        assert.equal(r.remaining, 0);
      },
    ),
    { numRuns: 200 },
  );
});

test('uuids: table conversion agrees with Buffer base64url both ways; malformed strings are refused', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const b = Buffer.from(bytes);
      const s = new Reader(b).uuid();
      assert.equal(s, b.toString('base64url'));
      const w = new Writer(4);
      w.uuid(s);
      assert.ok(w.finish().equals(b));
    }),
    { numRuns: 2000 },
  );
  assert.equal(new Reader(Buffer.alloc(16)).uuid(), 'AAAAAAAAAAAAAAAAAAAAAA');
  for (const bad of [
    '',
    'AAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAAAAA',
    'AAAAAAAAAAAAAAAAAAAA+A',
    'AAAAAAAAAAAAAAAAAAAAA=',
    'AAAAAAAAAAÀAAAAAAAAAAA',
  ]) {
    assert.throws(() => new Writer().uuid(bad), TypeError, JSON.stringify(bad));
  }
});

test('ASCII fast paths and the general UTF-8 path agree around their length thresholds', () => {
  const mostlyAscii = fc.string({
    unit: fc.oneof(
      { weight: 20, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
      { weight: 1, arbitrary: fc.constantFrom('é', '€', '😀', '\u0080', '\u07ff') },
    ),
    maxLength: 90,
  });
  fc.assert(
    fc.property(mostlyAscii, fc.boolean(), (s, compact) => {
      const w = new Writer(4);
      w.string(s, compact);
      const bytes = w.finish();
      const utf8 = Buffer.from(s, 'utf8');
      const prefix = compact ? 1 + (utf8.length + 1 >= 128 ? 1 : 0) : 2;
      assert.ok(bytes.subarray(prefix).equals(utf8), 'payload is the UTF-8 encoding');
      assert.equal(new Reader(bytes).string(compact), s);
    }),
    { numRuns: 3000 },
  );
});

test('fixed-width writes refuse values outside their type, reads sign-extend correctly', () => {
  const cases: [keyof Writer & ('int8' | 'int16' | 'uint16' | 'int32' | 'uint32'), number, number][] = [
    ['int8', -128, 127],
    ['int16', -32768, 32767],
    ['uint16', 0, 65535],
    ['int32', -(2 ** 31), 2 ** 31 - 1],
    ['uint32', 0, 2 ** 32 - 1],
  ];
  for (const [type, min, max] of cases) {
    for (const ok of [min, max, 0]) {
      const w = new Writer(1);
      w[type](ok);
      assert.equal(new Reader(w.finish())[type](), ok, `${type} ${ok}`);
    }
    for (const bad of [min - 1, max + 1, 0.5, Number.NaN]) {
      assert.throws(() => new Writer()[type](bad), RangeError, `${type} ${bad}`);
    }
  }
  // int64 clamps beyond its range (2^63 is how Long.MAX_VALUE arrives as a number) but
  // refuses values that are not integers at all.
  for (const bad of [0.5, Number.NaN, -1e-9]) assert.throws(() => new Writer().int64(bad), RangeError, `int64 ${bad}`);
  assert.equal(
    new Reader(
      (() => {
        const w = new Writer();
        w.int64(2 ** 70);
        return w.finish();
      })(),
    ).int64(),
    2 ** 63,
  );
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), (bytes) => {
      const b = Buffer.from(bytes);
      const r = (): Reader => new Reader(b);
      assert.equal(r().int8(), b.readInt8(0));
      assert.equal(r().int16(), b.readInt16BE(0));
      assert.equal(r().uint16(), b.readUInt16BE(0));
      assert.equal(r().int32(), b.readInt32BE(0));
      assert.equal(r().uint32(), b.readUInt32BE(0));
    }),
  );
});
