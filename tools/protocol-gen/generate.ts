// Generates TypeScript codecs from Kafka's JSON message specs.
// Usage: node dist/tools/protocol-gen/generate.js <specRoot> <outDir>
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  intersect,
  isEmptyRange,
  NO_VERSIONS,
  parseVersions,
  type RawField,
  type RawMessage,
  readSpec,
  type VersionRange,
} from './spec.js';

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

interface StructModel {
  tsName: string;
  fields: FieldModel[];
}

interface FieldModel {
  jsonName: string;
  name: string;
  /** 'prim' (scalar), 'struct' (nested object) or 'array'. */
  kind: 'prim' | 'struct' | 'array';
  prim: string | null;
  struct: StructModel | null;
  /** For arrays: element primitive or struct. */
  elemPrim: string | null;
  elemStruct: StructModel | null;
  versions: VersionRange;
  /** Versions where the field is a regular (positional) field: `versions` minus `taggedVersions`. */
  mandatoryVersions: VersionRange;
  nullableVersions: VersionRange;
  taggedVersions: VersionRange | null;
  tag: number | null;
  /** The spec's default; JSON null counts as no default, as in Kafka's generator. */
  defaultRaw: string | number | boolean | undefined;
  /**
   * Per-field override of the message's flexible versions (strings and bytes only), e.g.
   * RequestHeader.ClientId is "none": never compact, whatever the header version.
   */
  flexibleVersions: VersionRange | null;
  about: string;
}

interface MessageModel {
  raw: RawMessage;
  name: string;
  valid: VersionRange;
  flexible: VersionRange;
  root: StructModel;
  structs: StructModel[];
}

function camel(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

function buildMessage(raw: RawMessage): MessageModel {
  const valid = parseVersions(raw.validVersions);
  const flexible = parseVersions(raw.flexibleVersions);
  const structs: StructModel[] = [];
  const byName = new Map<string, StructModel>();
  const pendingBodies: { model: StructModel; fields: RawField[] }[] = [];

  const declare = (structName: string, fields: RawField[]): StructModel => {
    const existing = byName.get(structName);
    if (existing) return existing;
    const model: StructModel = { tsName: raw.name + structName, fields: [] };
    byName.set(structName, model);
    structs.push(model);
    pendingBodies.push({ model, fields });
    return model;
  };
  // Inline struct definitions may be referenced by name elsewhere in the message, so
  // declare every definition before resolving any field.
  const declareInline = (fields: RawField[]): void => {
    for (const f of fields) {
      if (f.fields) {
        const t = f.type.startsWith('[]') ? f.type.slice(2) : f.type;
        declare(t, f.fields);
        declareInline(f.fields);
      }
    }
  };
  const root: StructModel = { tsName: raw.name, fields: [] };
  structs.push(root);
  for (const cs of raw.commonStructs ?? []) {
    declare(cs.name, cs.fields);
    declareInline(cs.fields);
  }
  declareInline(raw.fields);

  const resolveField = (f: RawField): FieldModel => {
    const isArray = f.type.startsWith('[]');
    const base = isArray ? f.type.slice(2) : f.type;
    const isPrim = PRIMITIVES.has(base);
    let struct: StructModel | null = null;
    if (!isPrim) {
      const s = byName.get(base);
      if (!s) throw new Error(`${raw.name}: unknown type ${f.type} for field ${f.name}`);
      struct = s;
    }
    const tagged = f.tag !== undefined ? parseVersions(f.taggedVersions) : null;
    const versions = parseVersions(f.versions ?? f.taggedVersions);
    if (tagged !== null) {
      if (f.tag === undefined || f.tag < 0) throw new Error(`${raw.name}: field ${f.name} has a negative tag`);
      if (tagged.max !== Number.POSITIVE_INFINITY) {
        throw new Error(`${raw.name}: taggedVersions of ${f.name} must be open-ended`);
      }
      if (tagged.min < versions.min || versions.max !== Number.POSITIVE_INFINITY) {
        throw new Error(`${raw.name}: taggedVersions of ${f.name} must be a subset of its versions`);
      }
      if (isEmptyRange(flexible) || tagged.min < flexible.min) {
        throw new Error(`${raw.name}: tagged field ${f.name} is tagged in non-flexible versions`);
      }
    } else if (f.taggedVersions !== undefined) {
      throw new Error(`${raw.name}: field ${f.name} has taggedVersions but no tag`);
    }
    const fieldFlexible = f.flexibleVersions === undefined ? null : parseVersions(f.flexibleVersions);
    if (fieldFlexible !== null && base !== 'string' && base !== 'bytes') {
      throw new Error(`${raw.name}: only string and bytes fields may override flexibleVersions (${f.name})`);
    }
    return {
      jsonName: f.name,
      name: camel(f.name),
      kind: isArray ? 'array' : isPrim ? 'prim' : 'struct',
      prim: !isArray && isPrim ? base : null,
      struct: !isArray ? struct : null,
      elemPrim: isArray && isPrim ? base : null,
      elemStruct: isArray ? struct : null,
      versions,
      // Tagged versions are open-ended, so what remains untagged is the range below them.
      mandatoryVersions:
        tagged === null ? versions : { min: versions.min, max: Math.min(versions.max, tagged.min - 1) },
      nullableVersions: parseVersions(f.nullableVersions),
      taggedVersions: tagged,
      tag: f.tag ?? null,
      defaultRaw: f.default === null ? undefined : f.default,
      flexibleVersions: fieldFlexible,
      about: f.about ?? '',
    };
  };

  root.fields = raw.fields.map(resolveField);
  for (let i = 0; i < pendingBodies.length; i++) {
    const p = pendingBodies[i] as { model: StructModel; fields: RawField[] };
    p.model.fields = p.fields.map(resolveField);
  }
  for (const s of structs) {
    const tags = new Set<number>();
    for (const f of s.fields) {
      if (f.tag === null) continue;
      if (tags.has(f.tag)) throw new Error(`${raw.name}: tag ${f.tag} is used twice in ${s.tsName}`);
      tags.add(f.tag);
    }
  }
  return { raw, name: raw.name, valid, flexible, root, structs };
}

// ---------------------------------------------------------------- emission helpers

/** A boolean TS expression for "v is in range", simplified against the message's valid range. */
function versionCond(r: VersionRange, valid: VersionRange): string {
  const lo = r.min > valid.min;
  const hi = r.max < valid.max;
  if (isEmptyRange(intersect(r, valid))) return 'false';
  if (!lo && !hi) return 'true';
  if (lo && hi) return r.min === r.max ? `v === ${r.min}` : `v >= ${r.min} && v <= ${r.max}`;
  if (lo) return `v >= ${r.min}`;
  return `v <= ${r.max}`;
}

/** Versions (within the message's valid range) where `f` is written as a tagged field. */
function taggedPresence(ctx: GenContext, f: FieldModel): VersionRange {
  if (f.taggedVersions === null) return NO_VERSIONS;
  return intersect(intersect(f.taggedVersions, f.versions), ctx.msg.valid);
}

/** Versions (within the message's valid range) where `f` is written as a regular field. */
function mandatoryPresence(ctx: GenContext, f: FieldModel): VersionRange {
  return intersect(f.mandatoryVersions, ctx.msg.valid);
}

/**
 * Condition for "null is allowed in version v", simplified within the versions where the
 * field is written in the given position (tagged or regular).
 */
function nullableCond(ctx: GenContext, f: FieldModel, tagged: boolean): string {
  const present = tagged ? taggedPresence(ctx, f) : mandatoryPresence(ctx, f);
  return versionCond(f.nullableVersions, present);
}

function isNullableAnywhere(f: FieldModel): boolean {
  return !isEmptyRange(f.nullableVersions) || f.defaultRaw === 'null' || f.defaultRaw === 'None';
}

function primTsType(prim: string): string {
  switch (prim) {
    case 'bool':
      return 'boolean';
    case 'string':
    case 'uuid':
      return 'string';
    case 'bytes':
    case 'records':
      return 'Buffer';
    default:
      return 'number';
  }
}

function fieldTsType(f: FieldModel, init: boolean): string {
  const suffix = init ? 'Init' : '';
  let t: string;
  if (f.kind === 'prim') t = primTsType(f.prim as string);
  else if (f.kind === 'struct') t = (f.struct as StructModel).tsName + suffix;
  else if (f.elemStruct) t = `${f.elemStruct.tsName}${suffix}[]`;
  else t = `${primTsType(f.elemPrim as string)}[]`;
  const nullable = isNullableAnywhere(f) || f.prim === 'records';
  return nullable ? `${t} | null` : t;
}

function parseIntDefault(raw: string | number | boolean): number {
  if (typeof raw === 'number') return raw;
  const s = String(raw).trim();
  if (/^-?0x[0-9a-f]+$/i.test(s)) return s.startsWith('-') ? -Number.parseInt(s.slice(1), 16) : Number.parseInt(s, 16);
  const n = Number(s);
  if (!Number.isFinite(n)) throw new Error(`bad integer default ${s}`);
  return n;
}

/** TS expression for a field's default value (fresh objects for arrays and structs). */
function defaultExpr(f: FieldModel): string {
  const d = f.defaultRaw;
  const isNull = d === 'null' || d === 'None';
  if (f.kind === 'array') return isNull ? 'null' : '[]';
  if (f.kind === 'struct') return isNull ? 'null' : `default${(f.struct as StructModel).tsName}()`;
  switch (f.prim) {
    case 'bool':
      return d === undefined ? 'false' : String(String(d).toLowerCase() === 'true');
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
      return d === undefined || d === '' ? '0' : String(parseIntDefault(d));
    case 'string':
      if (isNull) return 'null';
      return JSON.stringify(d === undefined ? '' : String(d));
    case 'bytes':
      return isNull ? 'null' : 'EMPTY_BUFFER';
    case 'uuid': {
      if (d === undefined || d === '') return 'ZERO_UUID';
      if (Buffer.from(String(d), 'base64url').length !== 16) throw new Error(`bad uuid default for ${f.jsonName}`);
      return JSON.stringify(String(d));
    }
    case 'records':
      return 'null';
  }
  throw new Error(`no default for ${f.jsonName}`);
}

/** Expression that is true when value `x` equals the field's default (for tagged fields). */
function isDefaultCheck(f: FieldModel, x: string): string {
  const d = defaultExpr(f);
  if (f.kind === 'array') return d === 'null' ? `${x} === null` : `${x} !== null && ${x}.length === 0`;
  if (f.kind === 'struct') {
    if (d === 'null') return `${x} === null`;
    return `${x} !== null && isDefault${(f.struct as StructModel).tsName}(${x})`;
  }
  if (f.prim === 'bytes' || f.prim === 'records') {
    return d === 'null' ? `${x} === null` : `${x} !== null && ${x}.length === 0`;
  }
  return `${x} === ${d}`;
}

class Emitter {
  lines: string[] = [];
  private depth = 0;
  line(s = ''): void {
    this.lines.push(s === '' ? '' : '  '.repeat(this.depth) + s);
  }
  open(s: string): void {
    this.line(s);
    this.depth++;
  }
  close(s = '}'): void {
    this.depth--;
    this.line(s);
  }
}

// ---------------------------------------------------------------- per-message generation

interface GenContext {
  msg: MessageModel;
  e: Emitter;
  needsDefaultCheck: Set<StructModel>;
  imports: Set<string>;
}

/**
 * Expression for "compact encoding applies" for a string/bytes field: the message's `flex`
 * unless the field overrides flexibleVersions.
 */
function compactExpr(ctx: GenContext, f: FieldModel): string {
  if (f.flexibleVersions === null) return 'flex';
  const cond = versionCond(f.flexibleVersions, ctx.msg.valid);
  return cond === 'true' || cond === 'false' ? cond : `(${cond})`;
}

/** Emits code that writes primitive value expression `x` with writer `w`. */
function emitWritePrim(ctx: GenContext, f: FieldModel, prim: string, x: string, w: string, nullCond: string): void {
  const e = ctx.e;
  const c = compactExpr(ctx, f);
  switch (prim) {
    case 'bool':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
    case 'uuid':
      e.line(`${w}.${prim}(${x});`);
      return;
    case 'records':
      // Kafka's default for records is null even where the field is not nullable; there a
      // null is written as an empty record set rather than failing the whole message.
      if (nullCond === 'true') e.line(`${w}.nullableBytes(${x}, ${c});`);
      else if (nullCond === 'false') e.line(`${w}.bytes(${x} ?? EMPTY_BUFFER, ${c});`);
      else e.line(`if (${nullCond}) ${w}.nullableBytes(${x}, ${c}); else ${w}.bytes(${x} ?? EMPTY_BUFFER, ${c});`);
      return;
    case 'string':
    case 'bytes': {
      const kind = prim === 'string' ? 'String' : 'Bytes';
      if (nullCond === 'true') e.line(`${w}.nullable${kind}(${x}, ${c});`);
      else if (nullCond === 'false') e.line(`${w}.${camel(kind)}(nonNull(${x}, '${f.jsonName}'), ${c});`);
      else
        e.line(
          `if (${nullCond}) ${w}.nullable${kind}(${x}, ${c}); else ${w}.${camel(kind)}(nonNull(${x}, '${f.jsonName}'), ${c});`,
        );
      return;
    }
  }
  throw new Error(`cannot write ${prim}`);
}

function readPrimExpr(ctx: GenContext, f: FieldModel, prim: string, rd: string, nullCond: string): string {
  const c = compactExpr(ctx, f);
  switch (prim) {
    case 'bool':
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'int64':
    case 'float64':
    case 'uuid':
      return `${rd}.${prim}()`;
    case 'records':
    case 'string':
    case 'bytes': {
      const kind = prim === 'string' ? 'String' : 'Bytes';
      if (nullCond === 'true') return `${rd}.nullable${kind}(${c})`;
      if (nullCond === 'false') return `${rd}.${camel(kind)}(${c})`;
      return `(${nullCond} ? ${rd}.nullable${kind}(${c}) : ${rd}.${camel(kind)}(${c}))`;
    }
  }
  throw new Error(`cannot read ${prim}`);
}

/**
 * Emits code writing the value `x` (already defaulted) of field `f` with writer `w`.
 * `tagged` selects the tagged-field encoding where it differs: a nullable struct is
 * marked with an unsigned varint (0 null, 1 present) inside a tagged field, and with an
 * int8 (-1 null, 1 present) as a regular field.
 */
function emitWriteValue(ctx: GenContext, f: FieldModel, x: string, w: string, tagged: boolean): void {
  const e = ctx.e;
  const nullCond = nullableCond(ctx, f, tagged);
  if (f.kind === 'prim') {
    emitWritePrim(ctx, f, f.prim as string, x, w, nullCond);
    return;
  }
  if (f.kind === 'struct') {
    const s = f.struct as StructModel;
    if (nullCond !== 'false') {
      e.open(`if (${x} === null) {`);
      if (nullCond !== 'true') e.line(`if (!(${nullCond})) throw nullError('${f.jsonName}');`);
      e.line(tagged ? `${w}.uvarint(0);` : `${w}.int8(-1);`);
      e.close();
      e.open('else {');
      e.line(tagged ? `${w}.uvarint(1);` : `${w}.int8(1);`);
      e.line(`write${s.tsName}(${w}, ${x}, v, flex);`);
      e.close();
    } else {
      e.line(`write${s.tsName}(${w}, nonNull(${x}, '${f.jsonName}'), v, flex);`);
    }
    return;
  }
  // array
  if (nullCond === 'false') {
    e.line(`if (${x} === null) throw nullError('${f.jsonName}');`);
  } else {
    e.open(`if (${x} === null) {`);
    if (nullCond !== 'true') e.line(`if (!(${nullCond})) throw nullError('${f.jsonName}');`);
    e.line(`${w}.arrayLength(-1, flex);`);
    e.close();
  }
  e.open(nullCond === 'false' ? '{' : 'else {');
  e.line(`${w}.arrayLength(${x}.length, flex);`);
  if (f.elemStruct) {
    e.line(`for (let i = 0; i < ${x}.length; i++) write${f.elemStruct.tsName}(${w}, ${x}[i]!, v, flex);`);
  } else {
    e.open(`for (let i = 0; i < ${x}.length; i++) {`);
    e.line(`const el = ${x}[i]!;`);
    emitWritePrim(ctx, f, f.elemPrim as string, 'el', w, 'false');
    e.close();
  }
  e.close();
}

/** Emits statements that read field `f` with reader `rd` into local `target` (declared by caller). */
function emitReadValue(ctx: GenContext, f: FieldModel, target: string, rd: string, tagged: boolean): void {
  const e = ctx.e;
  const nullCond = nullableCond(ctx, f, tagged);
  if (f.kind === 'prim') {
    e.line(`${target} = ${readPrimExpr(ctx, f, f.prim as string, rd, nullCond)};`);
    return;
  }
  if (f.kind === 'struct') {
    const s = f.struct as StructModel;
    if (nullCond !== 'false') {
      // Kafka reads the marker as "negative int8" / "zero varint" means null.
      e.open(tagged ? `if (${rd}.uvarint() === 0) {` : `if (${rd}.int8() < 0) {`);
      if (nullCond !== 'true') e.line(`if (!(${nullCond})) throw new DecodeError('null ${f.jsonName}');`);
      e.line(`${target} = null;`);
      e.close();
      e.line(`else ${target} = read${s.tsName}(${rd}, v, flex);`);
    } else {
      e.line(`${target} = read${s.tsName}(${rd}, v, flex);`);
    }
    return;
  }
  e.open('{');
  e.line(`const n = ${rd}.arrayLength(flex);`);
  if (nullCond === 'false') {
    e.line(`if (n < 0) throw new DecodeError('null array ${f.jsonName}');`);
  } else {
    e.open('if (n < 0) {');
    if (nullCond !== 'true') e.line(`if (!(${nullCond})) throw new DecodeError('null array ${f.jsonName}');`);
    e.line(`${target} = null;`);
    e.close();
  }
  e.open(nullCond === 'false' ? '{' : 'else {');
  const elemType = f.elemStruct ? f.elemStruct.tsName : primTsType(f.elemPrim as string);
  // push keeps the array packed (new Array(n) would leave it holey, slower for consumers).
  e.line(`const a: ${elemType}[] = [];`);
  if (f.elemStruct) {
    e.line(`for (let i = 0; i < n; i++) a.push(read${f.elemStruct.tsName}(${rd}, v, flex));`);
  } else {
    e.line(`for (let i = 0; i < n; i++) a.push(${readPrimExpr(ctx, f, f.elemPrim as string, rd, 'false')});`);
  }
  e.line(`${target} = a;`);
  e.close();
  e.close();
}

function isRequiredInInit(ctx: GenContext, f: FieldModel): boolean {
  if (f.tag !== null) return false;
  if (f.defaultRaw !== undefined) return false;
  if (f.prim === 'records') return false;
  return f.versions.min <= ctx.msg.valid.min && f.versions.max >= ctx.msg.valid.max;
}

function docComment(e: Emitter, text: string): void {
  const t = text.replace(/\*\//g, '* /').trim();
  if (t) e.line(`/** ${t} */`);
}

function emitStructTypes(ctx: GenContext, s: StructModel): void {
  const e = ctx.e;
  e.open(`export interface ${s.tsName} {`);
  for (const f of s.fields) {
    docComment(e, f.about);
    e.line(`${f.name}: ${fieldTsType(f, false)};`);
  }
  e.line('_unknownTaggedFields?: UnknownTaggedField[];');
  e.close();
  e.line();
  e.line(`/** Input shape for encoding ${s.tsName}: fields with defaults may be omitted. */`);
  e.open(`export interface ${s.tsName}Init {`);
  for (const f of s.fields) {
    e.line(`${f.name}${isRequiredInInit(ctx, f) ? '' : '?'}: ${fieldTsType(f, true)};`);
  }
  e.line('_unknownTaggedFields?: UnknownTaggedField[];');
  e.close();
  e.line();
}

function emitDefault(ctx: GenContext, s: StructModel): void {
  const e = ctx.e;
  e.open(`export function default${s.tsName}(): ${s.tsName} {`);
  e.open('return {');
  for (const f of s.fields) e.line(`${f.name}: ${defaultExpr(f)},`);
  e.close('};');
  e.close();
  e.line();
}

function emitIsDefault(ctx: GenContext, s: StructModel): void {
  const e = ctx.e;
  e.open(`function isDefault${s.tsName}(m: ${s.tsName}Init): boolean {`);
  e.line('if (m._unknownTaggedFields !== undefined && m._unknownTaggedFields.length > 0) return false;');
  for (const f of s.fields) {
    e.line(`{ const x = m.${f.name}; if (x !== undefined && !(${isDefaultCheck(f, 'x')})) return false; }`);
  }
  e.line('return true;');
  e.close();
  e.line();
}

function collectDefaultChecks(ctx: GenContext, s: StructModel, out: Set<StructModel>): void {
  for (const f of s.fields) {
    const sub = f.struct ?? null;
    if (sub && !out.has(sub)) {
      out.add(sub);
      collectDefaultChecks(ctx, sub, out);
    }
  }
}

function emitWriter(ctx: GenContext, s: StructModel): void {
  const e = ctx.e;
  e.open(`export function write${s.tsName}(w: Writer, m: ${s.tsName}Init, v: number, flex: boolean): void {`);
  for (const f of s.fields) {
    const cond = versionCond(f.mandatoryVersions, ctx.msg.valid);
    if (cond === 'false') continue;
    const required = isRequiredInInit(ctx, f);
    const value = required ? `m.${f.name}` : `(m.${f.name} === undefined ? ${defaultExpr(f)} : m.${f.name})`;
    if (cond !== 'true') e.open(`if (${cond}) {`);
    else e.open('{');
    e.line(`const x = ${value};`);
    emitWriteValue(ctx, f, 'x', 'w', false);
    e.close();
  }
  const tagged = s.fields
    .filter((f) => !isEmptyRange(taggedPresence(ctx, f)))
    .sort((a, b) => (a.tag as number) - (b.tag as number));
  const flexCond = versionCond(ctx.msg.flexible, ctx.msg.valid);
  if (flexCond !== 'false') {
    e.open('if (flex) {');
    if (tagged.length === 0) {
      e.line('writeTaggedFields(w, null, m._unknownTaggedFields);');
    } else {
      e.line('let tagged: TaggedWrite[] | null = null;');
      for (const f of tagged) {
        // Within flexible versions only: tagged versions are a subset of them.
        const cond = versionCond(taggedPresence(ctx, f), intersect(ctx.msg.valid, ctx.msg.flexible));
        if (f.kind === 'struct' || (f.kind === 'array' && f.elemStruct)) {
          const sub = f.struct ?? f.elemStruct;
          if (sub) ctx.needsDefaultCheck.add(sub);
        }
        e.open(cond === 'true' ? '{' : `if (${cond}) {`);
        e.line(`const x = m.${f.name};`);
        // Written only when it differs from the default (a null differs from a non-null default).
        e.open(`if (x !== undefined && !(${isDefaultCheck(f, 'x')})) {`);
        e.open(`(tagged ??= []).push({ tag: ${f.tag}, write: (tw: Writer) => {`);
        emitWriteValue(ctx, f, 'x', 'tw', true);
        e.close('} });');
        e.close();
        e.close();
      }
      e.line('writeTaggedFields(w, tagged, m._unknownTaggedFields);');
    }
    e.close();
  }
  e.close();
  e.line();
}

function emitReader(ctx: GenContext, s: StructModel): void {
  const e = ctx.e;
  e.open(`export function read${s.tsName}(r: Reader, v: number, flex: boolean): ${s.tsName} {`);
  const locals: string[] = [];
  for (const f of s.fields) {
    const local = `f_${f.name}`;
    locals.push(`${f.name}: ${local}`);
    const cond = versionCond(f.mandatoryVersions, ctx.msg.valid);
    if (cond === 'false') {
      e.line(`const ${local}: ${fieldTsType(f, false)} = ${defaultExpr(f)};`);
      continue;
    }
    e.line(`let ${local}: ${fieldTsType(f, false)};`);
    if (cond !== 'true') e.open(`if (${cond}) {`);
    else e.open('{');
    emitReadValue(ctx, f, local, 'r', false);
    e.close();
    if (cond !== 'true') e.line(`else ${local} = ${defaultExpr(f)};`);
  }
  e.line(`const m: ${s.tsName} = { ${locals.join(', ')} };`);
  const tagged = s.fields
    .filter((f) => !isEmptyRange(taggedPresence(ctx, f)))
    .sort((a, b) => (a.tag as number) - (b.tag as number));
  const flexCond = versionCond(ctx.msg.flexible, ctx.msg.valid);
  if (flexCond !== 'false') {
    e.open('if (flex) {');
    if (tagged.length > 0) {
      e.open('const unknown = readTaggedFields(r, (tag, s) => {');
      e.open('switch (tag) {');
      for (const f of tagged) {
        const cond = versionCond(taggedPresence(ctx, f), intersect(ctx.msg.valid, ctx.msg.flexible));
        e.open(`case ${f.tag}: {`);
        // A tag this version does not define is kept as unknown, like any future tag.
        if (cond !== 'true') e.line(`if (!(${cond})) return false;`);
        e.line(`let t: ${fieldTsType(f, false)};`);
        emitReadValue(ctx, f, 't', 's', true);
        e.line(`m.${f.name} = t;`);
        e.line('return true;');
        e.close();
      }
      e.close();
      e.line('return false;');
      e.close('});');
    } else {
      e.line('const unknown = readTaggedFields(r, null);');
    }
    e.line('if (unknown !== undefined) m._unknownTaggedFields = unknown;');
    e.close();
  }
  e.line('return m;');
  e.close();
  e.line();
}

function emitMessage(msg: MessageModel, e: Emitter, imports: Set<string>): void {
  const ctx: GenContext = { msg, e, needsDefaultCheck: new Set(), imports };
  const name = msg.name;
  const flexMin = isEmptyRange(msg.flexible) ? -1 : msg.flexible.min;
  e.line(`// ---- ${name}`);
  e.line(
    `export const ${name}Versions = { min: ${msg.valid.min}, max: ${msg.valid.max}, flexibleMin: ${flexMin} } as const;`,
  );
  e.line();
  for (const s of msg.structs) emitStructTypes(ctx, s);
  for (const s of msg.structs) emitDefault(ctx, s);
  for (const s of msg.structs) emitWriter(ctx, s);
  for (const s of msg.structs) emitReader(ctx, s);
  const checks = new Set<StructModel>();
  for (const s of ctx.needsDefaultCheck) {
    checks.add(s);
    collectDefaultChecks(ctx, s, checks);
  }
  for (const s of msg.structs) if (checks.has(s)) emitIsDefault(ctx, s);
  const flexTest = isEmptyRange(msg.flexible) ? 'false' : `version >= ${msg.flexible.min}`;
  e.open(`export function encode${name}(w: Writer, m: ${name}Init, version: number): void {`);
  e.line(`checkVersion('${name}', version, ${msg.valid.min}, ${msg.valid.max});`);
  e.line(`write${name}(w, m, version, ${flexTest});`);
  e.close();
  e.line();
  e.open(`export function decode${name}(r: Reader, version: number): ${name} {`);
  e.line(`checkVersion('${name}', version, ${msg.valid.min}, ${msg.valid.max});`);
  e.line(`return read${name}(r, version, ${flexTest});`);
  e.close();
  e.line();
}

const HEADER = [
  '// Generated by tools/protocol-gen from the Kafka JSON message specs. Do not edit by hand.',
  '// Regenerate with `npm run generate`; test/protocol/generated.test.ts fails on any drift.',
  '/* eslint-disable */',
];

function moduleSource(messages: MessageModel[], runtimePath: string): string {
  const e = new Emitter();
  const imports = new Set<string>();
  for (const m of messages) emitMessage(m, e, imports);
  let body = e.lines.join('\n');
  const runtimeNames = [
    'DecodeError',
    'EMPTY_BUFFER',
    'Reader',
    'type TaggedWrite',
    'type UnknownTaggedField',
    'Writer',
    'ZERO_UUID',
    'checkVersion',
    'nonNull',
    'nullError',
    'readTaggedFields',
    'writeTaggedFields',
  ].filter((n) => new RegExp(`\\b${n.replace('type ', '')}\\b`).test(body));
  // Names used only in type positions are imported as types.
  const typeOnly = new Set(['Reader', 'Writer']);
  const importList = runtimeNames.map((n) => {
    const bare = n.replace('type ', '');
    if (n.startsWith('type ')) return n;
    if (typeOnly.has(bare)) {
      const valueUse = new RegExp(`new ${bare}\\b`).test(body);
      return valueUse ? bare : `type ${bare}`;
    }
    return bare;
  });
  body = `${HEADER.join('\n')}\nimport { ${importList.join(', ')} } from '${runtimePath}';\n\n${body}`;
  return `${body.trimEnd()}\n`;
}

interface GeneratedApi {
  apiKey: number;
  name: string;
  module: string;
  request: MessageModel;
  response: MessageModel;
}

function apiTableSource(apis: GeneratedApi[]): string {
  const lines: string[] = [...HEADER];
  lines.push("import type { Reader, Writer } from '../codec.js';");
  for (const a of apis) {
    lines.push(
      `import { decode${a.request.name}, decode${a.response.name}, encode${a.request.name}, encode${a.response.name}, type ${a.request.name}, type ${a.request.name}Init, type ${a.response.name}, type ${a.response.name}Init } from './api/${a.module}.js';`,
    );
  }
  lines.push('');
  lines.push('/** Static facts and codecs for one API key, straight from its specs. */');
  lines.push('export interface ApiSpec {');
  lines.push('  apiKey: number;');
  lines.push('  name: string;');
  lines.push('  minVersion: number;');
  lines.push('  maxVersion: number;');
  lines.push('  /** First flexible version of the request, or -1. */');
  lines.push('  requestFlexibleMin: number;');
  lines.push('  /** First flexible version of the response, or -1. */');
  lines.push('  responseFlexibleMin: number;');
  lines.push('  listeners: readonly string[];');
  lines.push('  latestVersionUnstable: boolean;');
  lines.push('  decodeRequest: (r: Reader, version: number) => unknown;');
  lines.push('  encodeRequest: (w: Writer, m: never, version: number) => void;');
  lines.push('  decodeResponse: (r: Reader, version: number) => unknown;');
  lines.push('  encodeResponse: (w: Writer, m: never, version: number) => void;');
  lines.push('}');
  lines.push('');
  lines.push('/** Request and response shapes per API key, for typed dispatch. */');
  lines.push('export interface ApiMessages {');
  for (const a of apis) {
    lines.push(
      `  ${a.apiKey}: { request: ${a.request.name}; requestInit: ${a.request.name}Init; response: ${a.response.name}; responseInit: ${a.response.name}Init };`,
    );
  }
  lines.push('}');
  lines.push('');
  lines.push('export const ApiKey = {');
  for (const a of apis) lines.push(`  ${a.name}: ${a.apiKey},`);
  lines.push('} as const;');
  lines.push('export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];');
  lines.push('');
  lines.push('/** Every API key in the specs, indexed by key. */');
  lines.push('export const API_SPECS: readonly ApiSpec[] = [');
  for (const a of apis) {
    const rf = isEmptyRange(a.request.flexible) ? -1 : a.request.flexible.min;
    const sf = isEmptyRange(a.response.flexible) ? -1 : a.response.flexible.min;
    const listeners = JSON.stringify(a.request.raw.listeners ?? []);
    lines.push(
      `  { apiKey: ${a.apiKey}, name: '${a.name}', minVersion: ${a.request.valid.min}, maxVersion: ${a.request.valid.max}, requestFlexibleMin: ${rf}, responseFlexibleMin: ${sf}, listeners: ${listeners}, latestVersionUnstable: ${a.request.raw.latestVersionUnstable === true}, decodeRequest: decode${a.request.name}, encodeRequest: encode${a.request.name}, decodeResponse: decode${a.response.name}, encodeResponse: encode${a.response.name} },`,
    );
  }
  lines.push('];');
  lines.push('');
  return lines.join('\n');
}

interface RecordModule {
  dir: string;
  module: string;
  message: MessageModel;
}

function recordIndexSource(dir: string, mods: RecordModule[]): string {
  const lines = [...HEADER];
  for (const m of mods) lines.push(`export * from './${m.module}.js';`);
  lines.push('');
  void dir;
  return lines.join('\n');
}

export function generate(specRoot: string, outDir: string): string[] {
  const written: string[] = [];
  const write = (rel: string, text: string): void => {
    const path = join(outDir, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    written.push(rel);
  };
  const clientsDir = join(specRoot, 'clients');
  const requests = new Map<number, MessageModel>();
  const responses = new Map<number, MessageModel>();
  const headers: MessageModel[] = [];
  const dataMsgs: MessageModel[] = [];
  for (const file of readdirSync(clientsDir).sort()) {
    if (!file.endsWith('.json')) continue;
    const raw = readSpec(join(clientsDir, file));
    const model = buildMessage(raw);
    if (raw.type === 'request') requests.set(raw.apiKey as number, model);
    else if (raw.type === 'response') responses.set(raw.apiKey as number, model);
    else if (raw.type === 'header') headers.push(model);
    else dataMsgs.push(model);
  }
  const apis: GeneratedApi[] = [];
  for (const [key, req] of [...requests.entries()].sort((a, b) => a[0] - b[0])) {
    const res = responses.get(key);
    if (!res) throw new Error(`no response for api key ${key}`);
    const name = req.name.replace(/Request$/, '');
    apis.push({ apiKey: key, name, module: kebab(name), request: req, response: res });
  }
  for (const a of apis) write(`api/${a.module}.ts`, moduleSource([a.request, a.response], '../../codec-runtime.js'));
  write('headers.ts', moduleSource(headers, '../codec-runtime.js'));
  // Non-API messages in clients/: the consumer protocol and the Raft control records.
  const dataMods: RecordModule[] = [];
  for (const d of dataMsgs) {
    const module = kebab(d.name);
    dataMods.push({ dir: 'data', module, message: d });
    write(`data/${module}.ts`, moduleSource([d], '../../codec-runtime.js'));
  }
  write('data/index.ts', recordIndexSource('data', dataMods));
  write('apis.ts', apiTableSource(apis));

  // Record formats stored in internal topics and the metadata log.
  for (const dir of ['metadata', 'group-coordinator', 'transaction-coordinator', 'raft', 'storage']) {
    const mods: RecordModule[] = [];
    for (const file of readdirSync(join(specRoot, dir)).sort()) {
      if (!file.endsWith('.json')) continue;
      const raw = readSpec(join(specRoot, dir, file));
      const message = buildMessage(raw);
      const module = kebab(raw.name);
      mods.push({ dir, module, message });
      write(`${dir}/${module}.ts`, moduleSource([message], '../../codec-runtime.js'));
    }
    write(`${dir}/index.ts`, recordIndexSource(dir, mods));
  }
  return written;
}

function main(): void {
  const [specRoot, outDir] = process.argv.slice(2);
  if (!specRoot || !outDir) {
    console.error('usage: generate <specRoot> <outDir>');
    process.exit(2);
  }
  const files = generate(specRoot, outDir);
  console.log(`generated ${files.length} files into ${outDir}`);
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) main();
