// Compression codecs used by the producer and consumer, behind one seam so the client can
// switch to src/records' codecs without touching the hot paths.
import { createRequire } from 'node:module';
import { gunzipSync, gzipSync } from 'node:zlib';
import { CompressionType } from '../records/batch-header.js';

const require = createRequire(import.meta.url);

interface SnappyModule {
  compressSync(data: Buffer): Buffer;
  uncompressSync(data: Buffer, opts?: { asBuffer?: boolean }): Buffer | string;
}
interface Lz4Module {
  compressFrameSync(data: Buffer): Buffer;
  decompressFrameSync(data: Buffer): Buffer;
}
interface ZstdModule {
  compress(data: Buffer, params?: Record<string, unknown>): Buffer;
  decompress(data: Buffer): Buffer;
}

let snappyMod: SnappyModule | undefined;
let lz4Mod: Lz4Module | undefined;
let zstdMod: ZstdModule | undefined;
const snappy = (): SnappyModule => {
  snappyMod ??= require('snappy') as SnappyModule;
  return snappyMod;
};
const lz4 = (): Lz4Module => {
  lz4Mod ??= require('lz4-napi') as Lz4Module;
  return lz4Mod;
};
const zstd = (): ZstdModule => {
  zstdMod ??= require('zstd-napi') as ZstdModule;
  return zstdMod;
};

export type CompressionName = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

const BY_NAME: Record<CompressionName, CompressionType> = {
  none: CompressionType.None,
  gzip: CompressionType.Gzip,
  snappy: CompressionType.Snappy,
  lz4: CompressionType.Lz4,
  zstd: CompressionType.Zstd,
};

export function compressionTypeOf(v: CompressionName | CompressionType | undefined): CompressionType {
  if (v === undefined) return CompressionType.None;
  if (typeof v === 'number') return v;
  const t = BY_NAME[v];
  if (t === undefined) throw new TypeError(`unknown compression ${String(v)}`);
  return t;
}

// The xerial snappy-java stream framing Java producers write: magic, version, then
// length-prefixed raw snappy blocks. librdkafka writes raw snappy; both must be read.
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = 16;

function snappyDecompress(data: Buffer): Buffer {
  if (data.length >= XERIAL_HEADER_BYTES && data.subarray(0, 8).equals(XERIAL_MAGIC)) {
    const parts: Buffer[] = [];
    let pos = XERIAL_HEADER_BYTES;
    while (pos + 4 <= data.length) {
      const len = data.readInt32BE(pos);
      pos += 4;
      if (len < 0 || pos + len > data.length) throw new Error('truncated xerial snappy block');
      parts.push(snappy().uncompressSync(data.subarray(pos, pos + len), { asBuffer: true }) as Buffer);
      pos += len;
    }
    return Buffer.concat(parts);
  }
  return snappy().uncompressSync(data, { asBuffer: true }) as Buffer;
}

export function compress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gzipSync(data);
    case CompressionType.Snappy:
      return snappy().compressSync(data);
    case CompressionType.Lz4:
      return lz4().compressFrameSync(data);
    case CompressionType.Zstd:
      return zstd().compress(data);
    default:
      throw new TypeError(`unsupported compression type ${type}`);
  }
}

export function decompress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case CompressionType.None:
      return data;
    case CompressionType.Gzip:
      return gunzipSync(data);
    case CompressionType.Snappy:
      return snappyDecompress(data);
    case CompressionType.Lz4:
      return lz4().decompressFrameSync(data);
    case CompressionType.Zstd:
      return zstd().decompress(data);
    default:
      throw new TypeError(`unsupported compression type ${type}`);
  }
}
