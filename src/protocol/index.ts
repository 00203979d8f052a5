// The protocol layer: wire primitives, generated codecs, headers, framing, error codes.
export * from './codec.js';
export { checkVersion, EMPTY_BUFFER, UnsupportedVersionError } from './codec-runtime.js';
export * from './errors.js';
export * from './framing.js';
export * from './generated/apis.js';
export * from './messages.js';
