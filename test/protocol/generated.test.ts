// The committed src/protocol/generated must be exactly what the generator produces from the
// specs: regenerate into a temp dir and compare file by file.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { generate } from '../../tools/protocol-gen/generate.js';
import { repoRoot, specRoot } from '../helpers/arbitrary.js';

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

test('regenerating from the specs gives exactly the committed src/protocol/generated', () => {
  const committed = join(repoRoot(), 'src', 'protocol', 'generated');
  const outDir = mkdtempSync(join(tmpdir(), 'eddy-protocol-gen-'));
  try {
    const written = generate(specRoot(), outDir);
    assert.ok(written.length > 100, `generator wrote only ${written.length} files`);
    const fresh = listFiles(outDir);
    const old = listFiles(committed);
    const problems: string[] = [];
    for (const f of fresh) if (!old.includes(f)) problems.push(`missing from src/protocol/generated: ${f}`);
    for (const f of old) if (!fresh.includes(f)) problems.push(`stale (no longer generated): ${f}`);
    for (const f of fresh) {
      if (!old.includes(f)) continue;
      if (!readFileSync(join(outDir, f)).equals(readFileSync(join(committed, f)))) problems.push(`differs: ${f}`);
    }
    assert.deepEqual(problems, [], `generated code drifted; run \`npm run generate\`:\n${problems.join('\n')}`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});
