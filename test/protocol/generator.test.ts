// The generator on synthetic specs: rules of Kafka's message format that no current spec
// exercises (a field that is regular in early versions and tagged later, a per-field
// flexibleVersions range, a tagged nullable struct with a null default), and the spec
// invariants it must refuse. The generated TypeScript is compiled with the project's tsc
// (strict) and run against hand-computed bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { generate } from '../../tools/protocol-gen/generate.js';
import { repoRoot } from '../helpers/arbitrary.js';

const RECORD_DIRS = ['metadata', 'group-coordinator', 'transaction-coordinator', 'raft', 'storage'];

function specTree(root: string, clients: Record<string, unknown>): string {
  const specs = join(root, 'specs');
  mkdirSync(join(specs, 'clients'), { recursive: true });
  for (const d of RECORD_DIRS) mkdirSync(join(specs, d), { recursive: true });
  for (const [file, json] of Object.entries(clients)) {
    writeFileSync(
      join(specs, 'clients', file),
      `// comment line\n/* block\n comment */\n${JSON.stringify(json, null, 2)}`,
    );
  }
  return specs;
}

const fooRequest = {
  apiKey: 0,
  type: 'request',
  name: 'FooRequest',
  validVersions: '0-3',
  flexibleVersions: '1+',
  fields: [
    // Regular in v0-1, tagged from v2 (Kafka: versions minus taggedVersions are mandatory).
    { name: 'Legacy', type: 'int32', versions: '0+', taggedVersions: '2+', tag: 0, default: '-1' },
    // Compact only from v3 although the message is flexible from v1.
    { name: 'Label', type: 'string', versions: '0+', flexibleVersions: '3+' },
    {
      name: 'Opt',
      type: 'Inner',
      versions: '1+',
      nullableVersions: '1+',
      taggedVersions: '1+',
      tag: '5', // a string tag, as some of Kafka's specs write them
      default: 'null',
      fields: [{ name: 'X', type: 'int16', versions: '1+' }],
    },
    { name: 'Hex', type: 'int32', versions: '0+', default: '0x10' },
  ],
};
const fooResponse = {
  apiKey: 0,
  type: 'response',
  name: 'FooResponse',
  validVersions: '0-3',
  flexibleVersions: '1+',
  fields: [{ name: 'ErrorCode', type: 'int16', versions: '0+' }],
};

type Encode = (w: Writer, m: unknown, v: number) => void;
type Decode = (r: Reader, v: number) => Record<string, unknown>;
let work: string;
let foo: { encode: Encode; decode: Decode; defaults: () => Record<string, unknown> };

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'eddy-gen-synthetic-'));
  const specs = specTree(work, { 'FooRequest.json': fooRequest, 'FooResponse.json': fooResponse });
  const out = join(work, 'src', 'gen');
  generate(specs, out);
  const dist = join(repoRoot(), 'dist', 'src', 'protocol');
  // The generated modules import ../../codec-runtime.js and ../codec.js; point those at the build.
  writeFileSync(
    join(work, 'src', 'codec-runtime.ts'),
    `export * from ${JSON.stringify(join(dist, 'codec-runtime.js'))};\n`,
  );
  writeFileSync(join(work, 'src', 'codec.ts'), `export * from ${JSON.stringify(join(dist, 'codec.js'))};\n`);
  writeFileSync(
    join(work, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'es2022',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        strict: true,
        noUncheckedIndexedAccess: true,
        skipLibCheck: true,
        types: ['node'],
        typeRoots: [join(repoRoot(), 'node_modules', '@types')],
        outDir: 'js',
        rootDir: 'src',
      },
      include: ['src'],
    }),
  );
  writeFileSync(join(work, 'package.json'), '{"type":"module"}');
  execFileSync(join(repoRoot(), 'node_modules', '.bin', 'tsc'), ['-p', work], { stdio: 'pipe' });
  const mod = (await import(pathToFileURL(join(work, 'js', 'gen', 'api', 'foo.js')).href)) as Record<string, unknown>;
  foo = {
    encode: mod.encodeFooRequest as Encode,
    decode: mod.decodeFooRequest as Decode,
    defaults: mod.defaultFooRequest as () => Record<string, unknown>,
  };
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function bytes(m: unknown, v: number): string {
  const w = new Writer();
  foo.encode(w, m, v);
  return w.finish().toString('hex');
}

function hex(s: string): string {
  return s.replace(/\s+/g, '');
}

test('defaults: hex literal, null struct default, int default', () => {
  assert.deepEqual(foo.defaults(), { legacy: -1, label: '', opt: null, hex: 16 });
});

test('a field regular in early versions is positional there and tagged later', () => {
  const m = { legacy: 5, label: 'ab', hex: 1 };
  assert.equal(bytes(m, 0), hex('00000005 0002 6162 00000001'));
  assert.equal(bytes(m, 1), hex('00000005 0002 6162 00000001 00'));
  assert.equal(bytes(m, 2), hex('0002 6162 00000001 01 00 04 00000005'));
  assert.equal(bytes({ ...m, legacy: -1 }, 2), hex('0002 6162 00000001 00'), 'a default tagged value is not written');
  for (const v of [0, 1, 2, 3]) {
    const w = new Writer();
    foo.encode(w, m, v);
    assert.deepEqual(foo.decode(new Reader(w.finish()), v), { legacy: 5, label: 'ab', opt: null, hex: 1 }, `v${v}`);
  }
});

test('a per-field flexibleVersions range decides compactness on its own', () => {
  const m = { legacy: -1, label: 'ab', hex: 16 };
  assert.equal(bytes(m, 2), hex('0002 6162 00000010 00'), 'v2 is flexible but the field is not');
  assert.equal(bytes(m, 3), hex('03 6162 00000010 00'), 'compact from v3');
});

test('a tagged nullable struct with a null default: written only when present, with a varint marker', () => {
  const m = { legacy: -1, label: '', hex: 16, opt: { x: 7 } };
  // tag 5, size 4: marker 1, x (int16), the struct's empty tagged section
  // v1: Legacy is still positional (-1), Label is a classic string, then the tagged section.
  assert.equal(bytes(m, 1), hex('ffffffff 0000 00000010 01 05 04 01 0007 00'));
  assert.equal(bytes({ ...m, opt: null }, 1), hex('ffffffff 0000 00000010 00'));
  const w = new Writer();
  foo.encode(w, m, 3);
  assert.deepEqual(foo.decode(new Reader(w.finish()), 3).opt, { x: 7 });
});

test('the generator refuses specs that break Kafka’s invariants', () => {
  const cases: [string, Record<string, unknown>][] = [
    ['duplicate tag', { name: 'A', type: 'int8', versions: '1+', taggedVersions: '1+', tag: 1 }],
    ['taggedVersions not open-ended', { name: 'B', type: 'int8', versions: '1+', taggedVersions: '1-2', tag: 3 }],
    ['tagged in non-flexible versions', { name: 'C', type: 'int8', versions: '0+', taggedVersions: '0+', tag: 4 }],
    ['flexibleVersions on an int', { name: 'D', type: 'int32', versions: '0+', flexibleVersions: 'none' }],
    ['tag without taggedVersions', { name: 'E', type: 'int8', versions: '0+', taggedVersions: '1+' }],
  ];
  for (const [what, extra] of cases) {
    const dir = mkdtempSync(join(tmpdir(), 'eddy-gen-bad-'));
    try {
      const base = { name: 'Z', type: 'int8', versions: '1+', taggedVersions: '1+', tag: 1 };
      const req = { ...fooRequest, fields: [base, extra] };
      const specs = specTree(dir, { 'FooRequest.json': req, 'FooResponse.json': fooResponse });
      assert.throws(() => generate(specs, join(dir, 'out')), Error, what);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
