// Command-line option parsing for the client commands: `--name value`, `--name=value`,
// boolean flags and repeatable options, checked against a per-command spec.
import { UsageError } from './output.js';

export type OptionKind = 'string' | 'number' | 'boolean' | 'list';

export interface OptionSpec {
  kind: OptionKind;
  /** Short form without the dash, e.g. 't' for -t. */
  short?: string;
  description: string;
  /** Shown in help as the value placeholder. */
  value?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

export class ParsedArgs {
  constructor(
    private readonly values: Map<string, string[]>,
    readonly positional: string[],
  ) {}

  has(name: string): boolean {
    return this.values.has(name);
  }

  string(name: string): string | undefined {
    const v = this.values.get(name);
    return v === undefined ? undefined : v[v.length - 1];
  }

  requireString(name: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') throw new UsageError(`--${name} is required`);
    return v;
  }

  number(name: string): number | undefined {
    const v = this.string(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n))
      throw new UsageError(`--${name} expects a number, got ${JSON.stringify(v)}`);
    return n;
  }

  integer(name: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
    const n = this.number(name);
    if (n === undefined) return undefined;
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} expects an integer >= ${min}, got ${n}`);
    return n;
  }

  bool(name: string): boolean {
    return this.values.has(name);
  }

  list(name: string): string[] {
    return this.values.get(name) ?? [];
  }
}

/** Common options of every client command. */
export const COMMON_OPTIONS: OptionSpecs = {
  'bootstrap-server': {
    kind: 'string',
    short: 'b',
    value: 'host:port[,host:port]',
    description: 'brokers to connect to (default 127.0.0.1:9092)',
  },
  json: { kind: 'boolean', description: 'machine-readable JSON output' },
  'request-timeout-ms': { kind: 'number', value: 'ms', description: 'per-request timeout (default 30000)' },
  help: { kind: 'boolean', short: 'h', description: 'show this help' },
};

export function parseArgs(argv: readonly string[], specs: OptionSpecs): ParsedArgs {
  const all: OptionSpecs = { ...COMMON_OPTIONS, ...specs };
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(all)) if (s.short) byShort.set(s.short, name);
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (eq > 0) inline = a.slice(eq + 1);
    } else if (a.startsWith('-') && a.length === 2) {
      name = byShort.get(a.slice(1));
      if (name === undefined) throw new UsageError(`unknown option ${a}`);
    } else {
      positional.push(a);
      continue;
    }
    const spec = all[name];
    if (spec === undefined) throw new UsageError(`unknown option --${name}`);
    let value: string;
    if (spec.kind === 'boolean') {
      if (inline !== undefined && inline !== 'true') {
        if (inline === 'false') continue;
        throw new UsageError(`--${name} takes no value`);
      }
      value = 'true';
    } else if (inline !== undefined) {
      value = inline;
    } else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    const list = values.get(name) ?? [];
    list.push(value);
    values.set(name, list);
  }
  return new ParsedArgs(values, positional);
}

/** Splits `key=value` (the value may contain '='). */
export function splitKeyValue(kv: string, option: string): [string, string] {
  const eq = kv.indexOf('=');
  if (eq <= 0) throw new UsageError(`${option} expects key=value, got ${JSON.stringify(kv)}`);
  return [kv.slice(0, eq), kv.slice(eq + 1)];
}

export function optionsHelp(specs: OptionSpecs): string {
  const rows = Object.entries({ ...specs, ...COMMON_OPTIONS }).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.kind === 'boolean' ? '' : ` ${s.value ?? 'value'}`}`;
    return [flag, s.description + (s.kind === 'list' ? ' (repeatable)' : '')] as const;
  });
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([f, d]) => `  ${f.padEnd(width)}  ${d}`).join('\n');
}
