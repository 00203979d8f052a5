// Parses Kafka's JSON message specs (JSON with `//` comments) into a typed model.
import { readFileSync } from 'node:fs';

export interface VersionRange {
  min: number;
  /** Inclusive; Infinity for open-ended ("3+"). */
  max: number;
}

export const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

export function parseVersions(text: string | undefined): VersionRange {
  if (text === undefined || text === 'none') return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(text);
  if (plus) return { min: Number(plus[1]), max: Number.POSITIVE_INFINITY };
  const range = /^(\d+)-(\d+)$/.exec(text);
  if (range) return { min: Number(range[1]), max: Number(range[2]) };
  const single = /^(\d+)$/.exec(text);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  throw new Error(`bad version range ${JSON.stringify(text)}`);
}

export function isEmptyRange(r: VersionRange): boolean {
  return r.min > r.max;
}

export function intersect(a: VersionRange, b: VersionRange): VersionRange {
  return { min: Math.max(a.min, b.min), max: Math.min(a.max, b.max) };
}

export interface RawField {
  name: string;
  type: string;
  versions?: string;
  nullableVersions?: string;
  taggedVersions?: string;
  tag?: number;
  default?: string | number | boolean;
  flexibleVersions?: string;
  fields?: RawField[];
  about?: string;
  ignorable?: boolean;
  mapKey?: boolean;
  zeroCopy?: boolean;
  entityType?: string;
}

export interface RawMessage {
  apiKey?: number;
  type: string;
  name: string;
  validVersions: string;
  flexibleVersions: string;
  fields: RawField[];
  commonStructs?: { name: string; versions?: string; fields: RawField[] }[];
  listeners?: string[];
  latestVersionUnstable?: boolean;
}

/** Removes `//` line and `/* *\/` block comments outside of strings (as Jackson's ALLOW_COMMENTS does), then parses JSON. */
export function parseSpecText(text: string): RawMessage {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === '\\') {
        out += text[i + 1] ?? '';
        i++;
      } else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
      out += '\n';
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const close = text.indexOf('*/', i + 2);
      if (close < 0) throw new Error('unterminated block comment in spec');
      // Keep line breaks so JSON.parse error positions still point at the right line.
      out += text.slice(i, close + 2).replace(/[^\n]/g, ' ');
      i = close + 1;
      continue;
    }
    out += c;
  }
  const msg = JSON.parse(out) as RawMessage;
  for (const cs of msg.commonStructs ?? []) normalizeFields(cs.fields);
  normalizeFields(msg.fields);
  return msg;
}

/**
 * Jackson coerces JSON strings to the declared Java types, and some specs rely on it
 * (e.g. `"tag": "2"` in BrokerRegistrationChangeRecord), so tags become numbers here.
 */
function normalizeFields(fields: RawField[]): void {
  for (const f of fields) {
    const tag: unknown = f.tag;
    if (typeof tag === 'string') {
      if (!/^\d+$/.test(tag)) throw new Error(`field ${f.name} has a non-numeric tag ${JSON.stringify(tag)}`);
      f.tag = Number(tag);
    }
    if (f.fields) normalizeFields(f.fields);
  }
}

export function readSpec(path: string): RawMessage {
  return parseSpecText(readFileSync(path, 'utf8'));
}
