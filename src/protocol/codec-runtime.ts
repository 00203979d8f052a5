// Helpers that generated codecs import, in one place so generated files stay small.
export {
  DecodeError,
  Reader,
  readTaggedFields,
  type TaggedWrite,
  type UnknownTaggedField,
  Writer,
  writeTaggedFields,
  ZERO_UUID,
} from './codec.js';

import { DecodeError } from './codec.js';

export const EMPTY_BUFFER: Buffer = Buffer.alloc(0);

/** Thrown by encoders and decoders for a version outside the spec's valid range. */
export class UnsupportedVersionError extends DecodeError {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedVersionError';
  }
}

export function checkVersion(name: string, version: number, min: number, max: number): void {
  if (!(version >= min && version <= max)) {
    throw new UnsupportedVersionError(`${name} version ${version} is outside ${min}-${max}`);
  }
}

export function nullError(field: string): TypeError {
  return new TypeError(`field ${field} is not nullable in this version`);
}

export function nonNull<T>(v: T | null, field: string): T {
  if (v === null) throw nullError(field);
  return v;
}
