// Deterministic sample text for the reference-codec fixtures in fixtures/ (see its README):
// word salad from a fixed-seed LCG, restarted every 2000 words so passages repeat at distances
// that cross 64 KiB block boundaries (exercising linked LZ4 blocks).
const WORDS = ['kafka', 'stream', 'record', 'batch', 'offset', 'leader', 'replica', 'eddy', 'topic', 'partition'];

export function fixturePlaintext(sizeBytes: number): Buffer {
  const out = Buffer.alloc(sizeBytes);
  let seed = 12345;
  let p = 0;
  for (let words = 0; p < sizeBytes; words++) {
    if (words % 2000 === 0) seed = 12345 + ((words / 2000) % 3);
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const word = WORDS[(seed >>> 16) % WORDS.length] as string;
    const n = seed % 7 === 0 ? `${word}-${seed % 1000} ` : `${word} `;
    p += out.write(n, p, 'latin1');
  }
  return out;
}

export const FIXTURE_PLAINTEXT_BYTES = 150_000;
