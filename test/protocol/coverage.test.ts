// The API table covers every API key in the specs with exactly the specs' versions, and each
// key has its generated request and response codecs.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { API_SPECS, ApiKey } from '../../src/protocol/generated/apis.js';
import { loadApiSpecs, loadSpecsIn, repoRoot } from '../helpers/arbitrary.js';

const specs = loadApiSpecs();

function kebab(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

test('the specs define API keys 0..87 and API_SPECS has all 88, indexed by key', () => {
  assert.deepEqual(
    [...specs.keys()],
    Array.from({ length: 88 }, (_, i) => i),
  );
  assert.equal(API_SPECS.length, 88);
  API_SPECS.forEach((s, i) => {
    assert.equal(s.apiKey, i, `API_SPECS[${i}] is api key ${s.apiKey}`);
  });
});

test('each API entry has the versions, flexible versions and listeners of its specs', () => {
  for (const [apiKey, pair] of specs) {
    const entry = API_SPECS[apiKey];
    assert.ok(entry);
    const name = pair.request.name.replace(/Request$/, '');
    assert.equal(entry.name, name);
    assert.equal((ApiKey as Record<string, number>)[name], apiKey, `ApiKey.${name}`);
    assert.equal(entry.minVersion, pair.request.valid.min, `${name} min version`);
    assert.equal(entry.maxVersion, pair.request.valid.max, `${name} max version`);
    // A response must exist for every request version.
    assert.deepEqual(pair.response.valid, pair.request.valid, `${name} response versions`);
    const flexMin = (r: { min: number; max: number }): number => (r.min > r.max ? -1 : r.min);
    assert.equal(entry.requestFlexibleMin, flexMin(pair.request.flexible), `${name} request flexible`);
    assert.equal(entry.responseFlexibleMin, flexMin(pair.response.flexible), `${name} response flexible`);
    assert.deepEqual(entry.listeners, pair.request.raw.listeners ?? [], `${name} listeners`);
    assert.equal(entry.latestVersionUnstable, pair.request.raw.latestVersionUnstable === true);
  }
});

test('each API key has a generated module exporting its request and response codecs', async () => {
  const root = repoRoot();
  for (const [, pair] of specs) {
    const name = pair.request.name.replace(/Request$/, '');
    const module = kebab(name);
    assert.ok(existsSync(join(root, 'src', 'protocol', 'generated', 'api', `${module}.ts`)), `api/${module}.ts`);
    const mod = (await import(`../../src/protocol/generated/api/${module}.js`)) as Record<string, unknown>;
    for (const msg of [pair.request.name, pair.response.name]) {
      for (const fn of [`encode${msg}`, `decode${msg}`, `write${msg}`, `read${msg}`, `default${msg}`]) {
        assert.equal(typeof mod[fn], 'function', `${module}.ts exports ${fn}`);
      }
      assert.deepEqual(
        mod[`${msg}Versions`],
        {
          min: pair.request.valid.min,
          max: pair.request.valid.max,
          flexibleMin:
            msg === pair.request.name
              ? API_SPECS[pair.apiKey]?.requestFlexibleMin
              : API_SPECS[pair.apiKey]?.responseFlexibleMin,
        },
        `${msg}Versions`,
      );
    }
  }
});

test('every record spec in metadata, group-coordinator, transaction-coordinator, raft, storage has codecs', async () => {
  for (const folder of ['metadata', 'group-coordinator', 'transaction-coordinator', 'raft', 'storage']) {
    const mod = (await import(`../../src/protocol/generated/${folder}/index.js`)) as Record<string, unknown>;
    const found = loadSpecsIn(folder);
    assert.ok(found.length > 0);
    for (const spec of found) {
      assert.equal(typeof mod[`encode${spec.name}`], 'function', `${folder}: encode${spec.name}`);
      assert.equal(typeof mod[`decode${spec.name}`], 'function', `${folder}: decode${spec.name}`);
    }
  }
});
