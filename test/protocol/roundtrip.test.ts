// Round-trip properties for every message the specs define, at every valid version:
// decode(encode(x)) equals x with the version's defaults filled in, the decoder consumes
// exactly the encoded bytes, and encode(decode(bytes)) reproduces the bytes.
// Arbitraries come from walking the JSON specs (test/helpers/arbitrary.ts), not from the
// generator's model. Set EDDY_FC_SEED to replay a failing seed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Reader, Writer } from '../../src/protocol/codec.js';
import { API_SPECS } from '../../src/protocol/generated/apis.js';
import * as data from '../../src/protocol/generated/data/index.js';
import * as groupCoordinator from '../../src/protocol/generated/group-coordinator/index.js';
import * as headers from '../../src/protocol/generated/headers.js';
import * as metadata from '../../src/protocol/generated/metadata/index.js';
import * as raft from '../../src/protocol/generated/raft/index.js';
import * as storage from '../../src/protocol/generated/storage/index.js';
import * as transactionCoordinator from '../../src/protocol/generated/transaction-coordinator/index.js';
import { loadApiSpecs, loadSpecsIn, type MessageSpec, messageArbitrary, versionsOf } from '../helpers/arbitrary.js';

type Encode = (w: Writer, m: never, version: number) => void;
type Decode = (r: Reader, version: number) => unknown;

const seedEnv = process.env.EDDY_FC_SEED;
const baseParams: fc.Parameters<unknown> = seedEnv === undefined ? {} : { seed: Number(seedEnv) };

/** Runs per message version: ~650 API message versions and ~90 record versions take ~15 s. */
const API_RUNS = 300;
const RECORD_RUNS = 600;

function checkMessage(spec: MessageSpec, encode: Encode, decode: Decode, numRuns: number): void {
  for (const v of versionsOf(spec)) {
    const property = fc.property(messageArbitrary(spec, v), ({ input, expected }) => {
      const w = new Writer(64);
      encode(w, input as never, v);
      const bytes = w.finish();
      const r = new Reader(bytes);
      const decoded = decode(r, v);
      assert.equal(r.remaining, 0, 'the decoder must consume exactly the encoded bytes');
      assert.deepStrictEqual(decoded, expected);
      const w2 = new Writer(64);
      encode(w2, decoded as never, v);
      const again = w2.finish();
      assert.ok(
        again.equals(bytes),
        `re-encoding changed the bytes:\n${bytes.toString('hex')}\n${again.toString('hex')}`,
      );
    });
    try {
      fc.assert(property, { ...baseParams, numRuns });
    } catch (err) {
      throw new Error(`${spec.name} v${v}: ${(err as Error).message}`, { cause: err });
    }
  }
}

const apiSpecs = loadApiSpecs();

for (const [apiKey, pair] of apiSpecs) {
  const table = API_SPECS[apiKey];
  test(`api ${apiKey} ${pair.request.name.replace(/Request$/, '')}: request and response round-trip at every version`, () => {
    assert.ok(table !== undefined && table.apiKey === apiKey, `API_SPECS has no entry for key ${apiKey}`);
    checkMessage(pair.request, table.encodeRequest as Encode, table.decodeRequest, API_RUNS);
    checkMessage(pair.response, table.encodeResponse as Encode, table.decodeResponse, API_RUNS);
  });
}

function codecsIn(mod: Record<string, unknown>, name: string): { encode: Encode; decode: Decode } {
  const encode = mod[`encode${name}`];
  const decode = mod[`decode${name}`];
  assert.equal(typeof encode, 'function', `no encode${name}`);
  assert.equal(typeof decode, 'function', `no decode${name}`);
  return { encode: encode as Encode, decode: decode as Decode };
}

const recordFolders: [folder: string, mod: Record<string, unknown>, types?: string[]][] = [
  ['metadata', metadata],
  ['group-coordinator', groupCoordinator],
  ['transaction-coordinator', transactionCoordinator],
  ['raft', raft],
  ['storage', storage],
  ['clients', headers, ['header']],
  ['clients', data, ['data']],
];

for (const [folder, mod, types] of recordFolders) {
  test(`${folder}${types ? ` (${types.join(', ')})` : ''}: every spec round-trips at every version`, () => {
    const specs = loadSpecsIn(folder, types);
    assert.ok(specs.length > 0, `no specs found in ${folder}`);
    for (const spec of specs) {
      const { encode, decode } = codecsIn(mod, spec.name);
      checkMessage(spec, encode, decode, RECORD_RUNS);
    }
  });
}
