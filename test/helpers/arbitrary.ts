// fast-check arbitraries for every message in Kafka's JSON specs, built by walking the
// specs at test time. Deliberately independent of tools/protocol-gen/generate.ts (only the
// comment-stripping JSON parser is shared), so a wrong rule in the generator shows up as a
// disagreement instead of being repeated here.
//
// For a message and version, `messageArbitrary` yields { input, expected }: `input` is what
// is handed to the encoder (fields absent in that version are sometimes omitted and sometimes
// set to junk the encoder must ignore), `expected` is what the decoder must return (absent
// fields at their spec defaults, tagged fields omitted or equal to their default read back as
// the default).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import {
  parseVersions,
  type RawField,
  type RawMessage,
  readSpec,
  type VersionRange,
} from '../../tools/protocol-gen/spec.js';

/** The repository root: the nearest ancestor of this file with Eddy's package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'eddy') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
}

/** Kafka's JSON specs live next to the repository (see DESIGN.md). */
export function specRoot(): string {
  return join(repoRoot(), '..', 'shared', 'kafka-protocol');
}

export interface MessageSpec {
  raw: RawMessage;
  name: string;
  valid: VersionRange;
  flexible: VersionRange;
  /** Struct definitions by type name (inline ones and commonStructs). */
  structs: Map<string, RawField[]>;
}

const PRIMITIVES = new Set([
  'bool',
  'int8',
  'int16',
  'uint16',
  'int32',
  'uint32',
  'int64',
  'float64',
  'string',
  'bytes',
  'uuid',
  'records',
]);

export const ZERO_UUID_STRING = Buffer.alloc(16).toString('base64url');

function inRange(r: VersionRange, v: number): boolean {
  return v >= r.min && v <= r.max;
}

export function loadMessageSpec(path: string): MessageSpec {
  const raw = readSpec(path);
  const structs = new Map<string, RawField[]>();
  const collect = (fields: RawField[]): void => {
    for (const f of fields) {
      if (f.fields) {
        structs.set(f.type.replace(/^\[\]/, ''), f.fields);
        collect(f.fields);
      }
    }
  };
  for (const cs of raw.commonStructs ?? []) {
    structs.set(cs.name, cs.fields);
    collect(cs.fields);
  }
  collect(raw.fields);
  return {
    raw,
    name: raw.name,
    valid: parseVersions(raw.validVersions),
    flexible: parseVersions(raw.flexibleVersions),
    structs,
  };
}

export interface ApiSpecPair {
  apiKey: number;
  request: MessageSpec;
  response: MessageSpec;
}

/** Every request/response pair in clients/, by api key. */
export function loadApiSpecs(): Map<number, ApiSpecPair> {
  const dir = join(specRoot(), 'clients');
  const requests = new Map<number, MessageSpec>();
  const responses = new Map<number, MessageSpec>();
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json')) continue;
    const spec = loadMessageSpec(join(dir, file));
    if (spec.raw.type === 'request') requests.set(spec.raw.apiKey as number, spec);
    if (spec.raw.type === 'response') responses.set(spec.raw.apiKey as number, spec);
  }
  const out = new Map<number, ApiSpecPair>();
  for (const [apiKey, request] of [...requests].sort((a, b) => a[0] - b[0])) {
    const response = responses.get(apiKey);
    if (response === undefined) throw new Error(`no response spec for api key ${apiKey}`);
    out.set(apiKey, { apiKey, request, response });
  }
  return out;
}

/** Specs of one folder (e.g. 'metadata'), optionally only of some types ('header', 'data'). */
export function loadSpecsIn(folder: string, types?: readonly string[]): MessageSpec[] {
  const dir = join(specRoot(), folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => loadMessageSpec(join(dir, f)))
    .filter((s) => types === undefined || types.includes(s.raw.type));
}

// ---------------------------------------------------------------- field rules

interface FieldRules {
  versions: VersionRange;
  tagged: VersionRange | null;
  nullable: VersionRange;
}

function rulesOf(f: RawField): FieldRules {
  const tagged = f.tag === undefined ? null : parseVersions(f.taggedVersions);
  return {
    versions: parseVersions(f.versions ?? f.taggedVersions),
    tagged,
    nullable: parseVersions(f.nullableVersions),
  };
}

type Placement = 'absent' | 'regular' | 'tagged';

function placement(spec: MessageSpec, f: RawField, v: number): Placement {
  const r = rulesOf(f);
  if (!inRange(r.versions, v)) return 'absent';
  if (r.tagged !== null && inRange(r.tagged, v)) return inRange(spec.flexible, v) ? 'tagged' : 'absent';
  return 'regular';
}

function elementType(f: RawField): string | null {
  return f.type.startsWith('[]') ? f.type.slice(2) : null;
}

function isNullDefault(f: RawField): boolean {
  return f.default === 'null';
}

function parseIntDefault(d: string | number | boolean | null | undefined): number {
  if (d === undefined || d === null || d === '') return 0;
  if (typeof d === 'number') return d;
  const s = String(d);
  if (s.startsWith('0x')) return Number.parseInt(s.slice(2), 16);
  return Number(s);
}

/** The value a decoder yields for a field that is not on the wire (Kafka's default rules). */
export function defaultValue(spec: MessageSpec, f: RawField): unknown {
  const d = f.default;
  const elem = elementType(f);
  if (elem !== null) return isNullDefault(f) ? null : [];
  switch (f.type) {
    case 'bool':
      return String(d).toLowerCase() === 'true';
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
      return parseIntDefault(d);
    case 'string':
      return isNullDefault(f) ? null : d === undefined || d === null ? '' : String(d);
    case 'bytes':
      return isNullDefault(f) ? null : Buffer.alloc(0);
    case 'uuid':
      return d === undefined || d === null || d === '' ? ZERO_UUID_STRING : String(d);
    case 'records':
      return null;
  }
  if (isNullDefault(f)) return null;
  return defaultStruct(spec, f.type);
}

export function defaultStruct(spec: MessageSpec, typeName: string): Record<string, unknown> {
  const fields = spec.structs.get(typeName);
  if (fields === undefined) throw new Error(`${spec.name}: unknown struct ${typeName}`);
  const out: Record<string, unknown> = {};
  for (const f of fields) out[camel(f.name)] = defaultValue(spec, f);
  return out;
}

export function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

// ---------------------------------------------------------------- value arbitraries

export interface Pair {
  input: unknown;
  expected: unknown;
}

const same = (a: fc.Arbitrary<unknown>): fc.Arbitrary<Pair> => a.map((x) => ({ input: x, expected: x }));

/** Edge values get extra weight: they are where encodings go wrong. */
const int64Arb: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.maxSafeInteger() },
  { weight: 1, arbitrary: fc.constantFrom(-(2 ** 63), 2 ** 63, -1, 0, 2 ** 53, -(2 ** 53), 2 ** 32, -(2 ** 31) - 1) },
);

const uuidArb = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url'));
// 'binary' covers every code point except lone surrogates (which UTF-8 cannot carry).
const stringArb = fc.string({ unit: 'binary', maxLength: 12 });
const bytesArb = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b));
const recordsArb = fc.uint8Array({ maxLength: 96 }).map((b) => Buffer.from(b));

function primitiveArb(type: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'bool':
      return fc.boolean();
    case 'int8':
      return fc.integer({ min: -128, max: 127 });
    case 'int16':
      return fc.integer({ min: -32768, max: 32767 });
    case 'uint16':
      return fc.integer({ min: 0, max: 65535 });
    case 'int32':
      return fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
    case 'uint32':
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case 'int64':
      return int64Arb;
    case 'float64':
      return fc.double();
    case 'string':
      return stringArb;
    case 'bytes':
      return bytesArb;
    case 'uuid':
      return uuidArb;
    case 'records':
      return recordsArb;
  }
  throw new Error(`not a primitive: ${type}`);
}

const MAX_ARRAY = 3;

interface Ctx {
  spec: MessageSpec;
  v: number;
  /** Struct arbitraries per type name for this version (memoised: specs reuse structs). */
  cache: Map<string, fc.Arbitrary<Pair>>;
}

/** A value of the field's type, valid for version v (nullable as the field is there). */
function valueArb(ctx: Ctx, f: RawField, nullable: boolean): fc.Arbitrary<Pair> {
  const elem = elementType(f);
  let arb: fc.Arbitrary<Pair>;
  if (elem !== null) {
    const elemArb = PRIMITIVES.has(elem) ? same(primitiveArb(elem)) : structArb(ctx, elem);
    arb = fc.array(elemArb, { maxLength: MAX_ARRAY }).map((items) => ({
      input: items.map((p) => p.input),
      expected: items.map((p) => p.expected),
    }));
  } else if (PRIMITIVES.has(f.type)) {
    arb = same(primitiveArb(f.type));
  } else {
    arb = structArb(ctx, f.type);
  }
  if (!nullable) return arb;
  return fc.oneof(
    { weight: 4, arbitrary: arb },
    { weight: 1, arbitrary: fc.constant({ input: null, expected: null }) },
  );
}

/** Junk for a field the version does not have: the encoder must not write it. */
function junkArb(ctx: Ctx, f: RawField): fc.Arbitrary<unknown> {
  const elem = elementType(f);
  if (elem !== null) {
    const e = PRIMITIVES.has(elem) ? primitiveArb(elem) : fc.constant({});
    return fc.array(e, { maxLength: 2 });
  }
  if (PRIMITIVES.has(f.type)) return primitiveArb(f.type);
  // A struct the version lacks: an arbitrary of the struct at a version where it exists would
  // be needed to fill it; an empty object is enough to prove it is skipped.
  void ctx;
  return fc.constant({});
}

interface FieldArbs {
  name: string;
  arb: fc.Arbitrary<{ input: unknown; expected: unknown; omit: boolean }>;
}

function fieldArb(ctx: Ctx, f: RawField): FieldArbs {
  const name = camel(f.name);
  const where = placement(ctx.spec, f, ctx.v);
  const rules = rulesOf(f);
  const def = defaultValue(ctx.spec, f);
  const nullable = inRange(rules.nullable, ctx.v);
  if (where === 'absent') {
    const arb = fc.oneof(
      fc.constant({ input: undefined, expected: def, omit: true }),
      junkArb(ctx, f).map((j) => ({ input: j, expected: def, omit: false })),
    );
    return { name, arb };
  }
  const value = valueArb(ctx, f, nullable).map((p) => ({ ...p, omit: false }));
  if (where === 'regular') return { name, arb: value };
  // Tagged: omitted, explicitly the default, or any value. A value equal to the default is
  // not written, so it reads back as the default (only -0 vs 0 could tell them apart).
  const tagged = value.map((p) => (f.type === 'float64' && Object.is(p.input, -0) ? { ...p, expected: 0 } : p));
  return {
    name,
    arb: fc.oneof(
      { weight: 1, arbitrary: fc.constant({ input: undefined, expected: def, omit: true }) },
      { weight: 1, arbitrary: fc.constant({ input: def, expected: def, omit: false }) },
      { weight: 3, arbitrary: tagged },
    ),
  };
}

function knownTags(fields: RawField[]): Set<number> {
  const tags = new Set<number>();
  for (const f of fields) if (f.tag !== undefined) tags.add(f.tag);
  return tags;
}

/** Sorted unknown tagged fields whose tags no version of the struct defines. */
function unknownTaggedArb(fields: RawField[]): fc.Arbitrary<{ tag: number; data: Buffer }[]> {
  const known = knownTags(fields);
  return fc
    .uniqueArray(fc.integer({ min: 0, max: 300 }), { maxLength: 3 })
    .chain((tags) => {
      const free = tags.filter((t) => !known.has(t)).sort((a, b) => a - b);
      return fc.tuple(...free.map((tag) => bytesArb.map((data) => ({ tag, data }))));
    })
    .map((xs) => [...xs]);
}

function buildStructArb(ctx: Ctx, fields: RawField[]): fc.Arbitrary<Pair> {
  const parts = fields.map((f) => fieldArb(ctx, f));
  const record: Record<string, fc.Arbitrary<{ input: unknown; expected: unknown; omit: boolean }>> = {};
  for (const p of parts) record[p.name] = p.arb;
  const flexible = inRange(ctx.spec.flexible, ctx.v);
  const unknown = flexible
    ? fc.oneof({ weight: 3, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: unknownTaggedArb(fields) })
    : fc.constant([]);
  return fc.tuple(fc.record(record), unknown).map(([values, extra]) => {
    const input: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(values)) {
      if (!val.omit) input[k] = val.input;
      expected[k] = val.expected;
    }
    if (extra.length > 0) {
      input._unknownTaggedFields = extra;
      expected._unknownTaggedFields = extra;
    }
    return { input, expected };
  });
}

function structArb(ctx: Ctx, typeName: string): fc.Arbitrary<Pair> {
  const cached = ctx.cache.get(typeName);
  if (cached) return cached;
  const fields = ctx.spec.structs.get(typeName);
  if (fields === undefined) throw new Error(`${ctx.spec.name}: unknown struct ${typeName}`);
  const arb = buildStructArb(ctx, fields);
  ctx.cache.set(typeName, arb);
  return arb;
}

const messageCache = new Map<string, fc.Arbitrary<Pair>>();

/** { input, expected } pairs for the whole message at version v. */
export function messageArbitrary(spec: MessageSpec, v: number): fc.Arbitrary<Pair> {
  if (!inRange(spec.valid, v)) throw new Error(`${spec.name} has no version ${v}`);
  const key = `${spec.name}@${v}`;
  const cached = messageCache.get(key);
  if (cached) return cached;
  const ctx: Ctx = { spec, v, cache: new Map() };
  const arb = buildStructArb(ctx, spec.raw.fields);
  messageCache.set(key, arb);
  return arb;
}

/** Every version of a message, in order. */
export function versionsOf(spec: MessageSpec): number[] {
  const out: number[] = [];
  for (let v = spec.valid.min; v <= spec.valid.max; v++) out.push(v);
  return out;
}
