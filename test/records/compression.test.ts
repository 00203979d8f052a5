import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import fc from 'fast-check';
import * as snappy from 'snappy';
import {
  CompressionError,
  CompressionType,
  compress,
  compressAsync,
  decompress,
  decompressAsync,
  xxhash32,
} from '../../src/records/index.js';
import { FIXTURE_PLAINTEXT_BYTES, fixturePlaintext } from './fixture-data.js';

// Compiled tests run from dist/test/records; the fixtures stay in the source tree.
const FIXTURES = fileURLToPath(new URL('../../../test/records/fixtures/', import.meta.url));
const fixture = (name: string) => readFileSync(FIXTURES + name);
const plaintext = fixturePlaintext(FIXTURE_PLAINTEXT_BYTES);

const CODECS = [CompressionType.Gzip, CompressionType.Snappy, CompressionType.Lz4, CompressionType.Zstd];

async function rejectsWith(p: Promise<unknown>, problem: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CompressionError, String(err));
    assert.equal(err.problem, problem, err.message);
    return true;
  });
}

function throwsWith(fn: () => unknown, problem: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof CompressionError, String(err));
    assert.equal(err.problem, problem, err.message);
    return true;
  });
}

describe('xxhash32', () => {
  test('reference vectors', () => {
    assert.equal(xxhash32(Buffer.alloc(0)), 0x02cc5d05);
    assert.equal(xxhash32(Buffer.from('abc')), 0x32d153ff);
    assert.equal(xxhash32(Buffer.from('Nobody inspects the spammish repetition')), 0xe2293b2f);
  });

  test('a sub-range hashes like a copy of it', () => {
    const buf = fixturePlaintext(1000);
    assert.equal(xxhash32(buf, 100, 900), xxhash32(Buffer.from(buf.subarray(100, 900))));
  });
});

describe('round trips', () => {
  test('every codec, sync and async crossed, arbitrary data (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...CODECS),
        fc.oneof(
          fc.uint8Array({ maxLength: 3000 }),
          fc.integer({ min: 0, max: 300_000 }).map((n) => fixturePlaintext(n)),
        ),
        async (codec, data) => {
          const input = Buffer.from(data);
          const sync = compress(codec, input);
          const viaAsync = await compressAsync(codec, input);
          assert.ok(decompress(codec, sync).equals(input));
          assert.ok((await decompressAsync(codec, sync)).equals(input));
          assert.ok(decompress(codec, viaAsync).equals(input));
        },
      ),
      { numRuns: 80 },
    );
  });

  test('none is the identity', async () => {
    const b = Buffer.from('abc');
    assert.equal(compress(CompressionType.None, b), b);
    assert.equal(await decompressAsync(CompressionType.None, b), b);
  });

  test('unknown codec ids are typed errors', async () => {
    for (const id of [5, 6, 7]) {
      throwsWith(() => compress(id as CompressionType, Buffer.alloc(1)), 'unsupported-codec');
      throwsWith(() => decompress(id as CompressionType, Buffer.alloc(1)), 'unsupported-codec');
      await rejectsWith(decompressAsync(id as CompressionType, Buffer.alloc(1)), 'unsupported-codec');
    }
  });
});

describe('wire formats', () => {
  test('snappy: we write the xerial stream as Java does (header, then 32 KiB blocks)', () => {
    const out = compress(CompressionType.Snappy, plaintext);
    assert.deepEqual([...out.subarray(0, 16)], [0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0, 0, 0, 0, 1, 0, 0, 0, 1]);
    let p = 16;
    let decoded = 0;
    while (p < out.length) {
      const len = out.readInt32BE(p);
      const block = snappy.uncompressSync(out.subarray(p + 4, p + 4 + len)) as Buffer;
      assert.ok(block.equals(plaintext.subarray(decoded, decoded + block.length)));
      assert.ok(block.length === 32 * 1024 || decoded + block.length === plaintext.length);
      decoded += block.length;
      p += 4 + len;
    }
    assert.equal(decoded, plaintext.length);
  });

  test('snappy: raw blocks (librdkafka, kafkajs-snappy) and concatenated xerial streams are read', () => {
    const raw = snappy.compressSync(plaintext);
    assert.ok(decompress(CompressionType.Snappy, raw).equals(plaintext));
    const a = compress(CompressionType.Snappy, plaintext.subarray(0, 1000));
    const b = compress(CompressionType.Snappy, plaintext.subarray(1000));
    assert.ok(decompress(CompressionType.Snappy, Buffer.concat([a, b])).equals(plaintext));
  });

  test('lz4: we write frames Java reads (FLG 0x60, BD 0x70, valid header checksum, 4 MiB blocks)', () => {
    const out = compress(CompressionType.Lz4, plaintext);
    assert.equal(out.readUInt32LE(0), 0x184d2204);
    assert.equal(out[4], 0x60); // version 01, independent blocks, no checksums, no content size
    assert.equal(out[5], 0x70); // 4 MiB maximum block size
    // Inputs beyond one block are cut at 4 MiB.
    const big = fixturePlaintext(4 * 1024 * 1024 + 5000);
    const twoBlocks = compress(CompressionType.Lz4, big);
    const firstBlockBytes = twoBlocks.readUInt32LE(7) & 0x7fffffff;
    assert.ok(twoBlocks.readUInt32LE(11 + firstBlockBytes) > 0, 'a second block follows');
    assert.ok(decompress(CompressionType.Lz4, twoBlocks).equals(big));
    assert.equal(out[6], (xxhash32(out, 4, 6) >>> 8) & 0xff);
    assert.equal(out.readUInt32LE(out.length - 4), 0); // EndMark
    // Incompressible input is stored raw (high bit of the block size).
    const random = Buffer.from(fc.sample(fc.integer({ min: 0, max: 255 }), { numRuns: 5000, seed: 7 }));
    const stored = compress(CompressionType.Lz4, random);
    assert.equal(stored.readUInt32LE(7), (0x80000000 | random.length) >>> 0);
    assert.ok(decompress(CompressionType.Lz4, stored).equals(random));
  });

  test('lz4: frames from the reference lz4 tool (linked blocks, content size, block and content checksums)', async () => {
    for (const name of [
      'linked-contentsize-contentcrc.lz4',
      'independent-blockcrc.lz4',
      'independent-contentcrc.lz4',
    ]) {
      const frame = fixture(name);
      assert.ok(decompress(CompressionType.Lz4, frame).equals(plaintext), name);
      assert.ok((await decompressAsync(CompressionType.Lz4, frame)).equals(plaintext), name);
    }
  });

  test('lz4: checksum mismatches, bad descriptors and truncation are corrupt', () => {
    const contentCrc = Buffer.from(fixture('independent-contentcrc.lz4'));
    contentCrc[contentCrc.length - 1] = (contentCrc[contentCrc.length - 1] as number) ^ 1;
    throwsWith(() => decompress(CompressionType.Lz4, contentCrc), 'corrupt');
    const blockCrc = Buffer.from(fixture('independent-blockcrc.lz4'));
    blockCrc[20] = (blockCrc[20] as number) ^ 1;
    throwsWith(() => decompress(CompressionType.Lz4, blockCrc), 'corrupt');
    const ours = compress(CompressionType.Lz4, plaintext);
    const badHc = Buffer.from(ours);
    badHc[6] = (badHc[6] as number) ^ 1;
    throwsWith(() => decompress(CompressionType.Lz4, badHc), 'corrupt');
    const dependentDictId = Buffer.from(ours);
    dependentDictId[4] = 0x61;
    throwsWith(() => decompress(CompressionType.Lz4, dependentDictId), 'corrupt');
    const badVersion = Buffer.from(ours);
    badVersion[4] = 0xa0;
    throwsWith(() => decompress(CompressionType.Lz4, badVersion), 'corrupt');
    for (const cut of [0, 3, 6, 10, ours.length - 1]) {
      throwsWith(() => decompress(CompressionType.Lz4, ours.subarray(0, cut)), 'corrupt');
    }
  });

  test('zstd: frames from the reference zstd tool, with and without content size, several frames', async () => {
    for (const name of ['streamed-no-content-size.zst', 'with-content-size.zst', 'two-frames.zst']) {
      const frame = fixture(name);
      assert.ok(decompress(CompressionType.Zstd, frame).equals(plaintext), name);
      assert.ok((await decompressAsync(CompressionType.Zstd, frame)).equals(plaintext), name);
    }
    const streamed = fixture('streamed-no-content-size.zst');
    throwsWith(() => decompress(CompressionType.Zstd, streamed.subarray(0, streamed.length - 3)), 'corrupt');
  });

  test('gzip: concatenated members are read (as Java and zlib do)', () => {
    const twoMembers = Buffer.concat([
      zlib.gzipSync(plaintext.subarray(0, 500)),
      zlib.gzipSync(plaintext.subarray(500)),
    ]);
    assert.ok(decompress(CompressionType.Gzip, twoMembers).equals(plaintext));
  });
});

describe('limits and corrupt input', () => {
  const zeros = Buffer.alloc(4 * 1024 * 1024);

  test('output beyond maxBytes is refused for every codec, sync and async', async () => {
    for (const codec of CODECS) {
      const bomb = compress(codec, zeros);
      throwsWith(() => decompress(codec, bomb, 1024 * 1024), 'too-large');
      throwsWith(() => decompress(codec, bomb, zeros.length - 1), 'too-large');
      await rejectsWith(decompressAsync(codec, bomb, 1024 * 1024), 'too-large');
      assert.equal(decompress(codec, bomb, zeros.length).length, zeros.length);
      assert.equal((await decompressAsync(codec, bomb, zeros.length)).length, zeros.length);
    }
  });

  test('reference frames respect the limit too', () => {
    for (const name of [
      'linked-contentsize-contentcrc.lz4',
      'independent-blockcrc.lz4',
      'independent-contentcrc.lz4',
    ]) {
      throwsWith(() => decompress(CompressionType.Lz4, fixture(name), plaintext.length - 1), 'too-large');
    }
    for (const name of ['streamed-no-content-size.zst', 'with-content-size.zst', 'two-frames.zst']) {
      throwsWith(() => decompress(CompressionType.Zstd, fixture(name), plaintext.length - 1), 'too-large');
    }
  });

  test('a raw snappy block that declares a huge length is refused before decoding', () => {
    // Preamble varint 0xffffffff (4 GiB - 1), then junk.
    throwsWith(
      () => decompress(CompressionType.Snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0])),
      'too-large',
    );
    throwsWith(() => decompress(CompressionType.Snappy, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0x01])), 'corrupt');
  });

  test('a zstd frame that declares a huge content size is refused before allocating', () => {
    const frame = compress(CompressionType.Zstd, zeros);
    throwsWith(() => decompress(CompressionType.Zstd, frame, 1000), 'too-large');
  });

  test('random bytes are typed errors or data, never a crash (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...CODECS), fc.uint8Array({ maxLength: 200 }), async (codec, junk) => {
        for (const run of [
          async () => decompress(codec, Buffer.from(junk), 1 << 20),
          () => decompressAsync(codec, Buffer.from(junk), 1 << 20),
        ]) {
          try {
            const out = await run();
            assert.ok(out.length <= 1 << 20);
          } catch (err) {
            assert.ok(err instanceof CompressionError, `${codec}: ${String(err)}`);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });

  test('mutated valid streams are typed errors or data, never a crash (property)', () => {
    const valid = CODECS.map((c) => compress(c, plaintext.subarray(0, 70_000)));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: CODECS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }),
        (which, edits) => {
          const buf = Buffer.from(valid[which] as Buffer);
          for (const [at, v] of edits) buf[at % buf.length] = v;
          try {
            decompress(CODECS[which] as CompressionType, buf, 1 << 20);
          } catch (err) {
            assert.ok(err instanceof CompressionError, String(err));
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
