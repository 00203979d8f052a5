// XXH32, the checksum of the LZ4 frame format (header checksum, optional block and
// content checksums). Implemented from the published algorithm; 32-bit math via Math.imul.

const PRIME1 = 0x9e3779b1;
const PRIME2 = 0x85ebca77;
const PRIME3 = 0xc2b2ae3d;
const PRIME4 = 0x27d4eb2f;
const PRIME5 = 0x165667b1;

function rotl(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function u32le(buf: Uint8Array, p: number): number {
  return (
    (buf[p] as number) | ((buf[p + 1] as number) << 8) | ((buf[p + 2] as number) << 16) | ((buf[p + 3] as number) << 24)
  );
}

function round(acc: number, lane: number): number {
  return Math.imul(rotl((acc + Math.imul(lane, PRIME2)) | 0, 13), PRIME1);
}

/** XXH32 of buf[start, end) with the given seed, as an unsigned 32-bit number. */
export function xxhash32(buf: Uint8Array, start = 0, end = buf.length, seed = 0): number {
  let p = start;
  const length = end - start;
  let h: number;
  if (length >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) | 0;
    let v2 = (seed + PRIME2) | 0;
    let v3 = seed | 0;
    let v4 = (seed - PRIME1) | 0;
    const limit = end - 16;
    while (p <= limit) {
      v1 = round(v1, u32le(buf, p));
      v2 = round(v2, u32le(buf, p + 4));
      v3 = round(v3, u32le(buf, p + 8));
      v4 = round(v4, u32le(buf, p + 12));
      p += 16;
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) | 0;
  } else {
    h = (seed + PRIME5) | 0;
  }
  // The length is added modulo 2^32, as the reference does.
  h = (h + length) | 0;
  while (p + 4 <= end) {
    h = Math.imul(rotl((h + Math.imul(u32le(buf, p), PRIME3)) | 0, 17), PRIME4);
    p += 4;
  }
  while (p < end) {
    h = Math.imul(rotl((h + Math.imul(buf[p] as number, PRIME5)) | 0, 11), PRIME1);
    p++;
  }
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2);
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3);
  h ^= h >>> 16;
  return h >>> 0;
}
