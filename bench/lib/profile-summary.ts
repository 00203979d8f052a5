// Summarises a V8 .cpuprofile (from `node --cpu-prof`, e.g. bench:broker --profile DIR):
// the functions with the most self time and the most total (inclusive) time.
//   node dist/bench/lib/profile-summary.js FILE.cpuprofile [top=30]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileLine {
  name: string;
  selfMs: number;
  totalMs: number;
}

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url.replace(/^file:\/\//, '').replace(/^.*\/dist\//, '');
  return `${f.functionName || '(anonymous)'} ${file ? `${file}:${f.lineNumber + 1}` : ''}`.trim();
}

export function summarize(profile: CpuProfile): { lines: ProfileLine[]; totalMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Time per sample: the delta to the next sample.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i + 1] ?? 0;
    const id = profile.samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idleUs = 0;
  let allUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id) as ProfileNode;
    allUs += us;
    const name = label(n);
    if (n.callFrame.functionName === '(idle)') idleUs += us;
    self.set(name, (self.get(name) ?? 0) + us);
    // Inclusive: charge every distinct frame on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur) as ProfileNode);
      if (seen.has(l)) continue;
      seen.add(l);
      total.set(l, (total.get(l) ?? 0) + us);
    }
  }
  const lines = [...self.keys(), ...[...total.keys()].filter((k) => !self.has(k))].map((name) => ({
    name,
    selfMs: (self.get(name) ?? 0) / 1000,
    totalMs: (total.get(name) ?? 0) / 1000,
  }));
  return { lines, totalMs: allUs / 1000, idleMs: idleUs / 1000 };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: profile-summary.js FILE.cpuprofile [top]\n');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? 30);
  const { lines, totalMs, idleMs } = summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
  const busy = totalMs - idleMs;
  process.stdout.write(
    `profile ${totalMs.toFixed(0)} ms, idle ${idleMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms\n\n`,
  );
  const show = (title: string, key: 'selfMs' | 'totalMs'): void => {
    process.stdout.write(`${title} (ms, % of busy)\n`);
    const sorted = lines.filter((l) => !l.name.startsWith('(idle)') && !l.name.startsWith('(root)'));
    sorted.sort((a, b) => b[key] - a[key]);
    for (const l of sorted.slice(0, top)) {
      process.stdout.write(
        `${l[key].toFixed(0).padStart(8)} ${((l[key] / busy) * 100).toFixed(1).padStart(5)}%  ${l.name}\n`,
      );
    }
    process.stdout.write('\n');
  };
  show('self time', 'selfMs');
  show('total time', 'totalMs');
}
