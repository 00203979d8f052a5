// RecordBatch v2: header layout, record codec, compression, transaction markers.
export * from './batch-header.js';
export * from './compression.js';
export * from './control.js';
export * from './record-batch.js';
export * from './xxhash32.js';
