// Runs `node bin/eddy.js ...` as a child process, as a user would, and collects its output.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const EDDY_BIN = fileURLToPath(new URL('../../../bin/eddy.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; fails the test (rejects) only when it does not finish within timeoutMs. */
export function runCli(args: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [EDDY_BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`eddy ${args.join(' ')} did not finish in ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`),
      );
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Runs the CLI and returns stdout, throwing with the full output unless it exits 0. */
export async function cliOk(
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<string> {
  const r = await runCli(args, opts);
  if (r.code !== 0)
    throw new Error(`eddy ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
}

/** Runs the CLI with --json and parses stdout. */
export async function cliJson<T>(
  args: readonly string[],
  opts: { input?: string; timeoutMs?: number } = {},
): Promise<T> {
  return JSON.parse(await cliOk([...args, '--json'], opts)) as T;
}

/** A loopback port nothing listens on (bound, then released). */
export function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Rows of an aligned table (header excluded), split on runs of 2+ spaces. */
export function tableRows(text: string, header: string): string[][] {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.startsWith(header));
  if (at < 0) throw new Error(`no table starting with ${header} in:\n${text}`);
  const rows: string[][] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.trim() === '' || !/\s{2,}/.test(l)) break;
    rows.push(l.trim().split(/\s{2,}/));
  }
  return rows;
}
