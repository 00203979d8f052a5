// Compression for the producer and consumer: the codecs and wire formats are src/records'
// (xerial snappy, KIP-57 lz4 frames, zstd, gzip); this maps the client's option names.
import { CompressionType } from '../records/batch-header.js';

export { compress, decompress } from '../records/compression.js';

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
