// Child processes for the benchmarks: run a load generator with a time limit, start a
// long-lived server and wait for the line that says where it listens, and read a process's
// CPU time and memory from /proc (Linux) so the broker needs no report endpoint.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
}

export interface RunOptions {
  /** A file fed to the process's stdin (opened here, so large inputs cost no JS time). */
  stdinFile?: string;
  /** Discard stdout instead of collecting it (consumers printing millions of records). */
  discardStdout?: boolean;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Runs a command to completion; SIGKILLs it when `timeoutMs` passes. */
export function run(command: string, args: string[], opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const stdinFd = opts.stdinFile !== undefined ? openSync(opts.stdinFile, 'r') : null;
    const started = performance.now();
    const child = spawn(command, args, {
      stdio: [stdinFd ?? 'ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (stdinFd !== null) closeSync(stdinFd);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      // Keep the tail only: a chatty failing client must not eat the bench's memory.
      stderr = (stderr + d).slice(-64 * 1024);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

/** Throws with the process's stderr when it did not exit with status 0. */
export function checkExit(r: RunResult, what: string): void {
  if (r.code !== 0) {
    throw new Error(`${what} failed (exit ${r.code ?? r.signal}): ${r.stderr.trim().slice(-2000)}`);
  }
}

export interface Server {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The capture groups of the readiness pattern. */
  readonly match: RegExpMatchArray;
  /** Everything the process wrote to stderr so far (tail). */
  output(): string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Spawns a long-running process and resolves once a line of its stdout or stderr matches
 * `ready` (for example the line naming the port it listens on).
 */
export function startServer(
  command: string,
  args: string[],
  ready: RegExp,
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    let output = '';
    let settled = false;
    let exited = false;
    const exitedPromise = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('exit', () => {
      exited = true;
    });
    const onData = (d: string): void => {
      output = (output + d).slice(-256 * 1024);
      if (settled) return;
      const m = output.match(ready);
      if (m) {
        settled = true;
        clearTimeout(timer);
        resolve({
          child,
          pid: child.pid as number,
          match: m,
          output: () => output,
          async stop(graceMs = 10_000) {
            if (exited) return;
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
            await exitedPromise;
            clearTimeout(t);
          },
        });
      }
    };
    child.stdout.setEncoding('utf8').on('data', onData);
    child.stderr.setEncoding('utf8').on('data', onData);
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(
        new Error(`${command} did not become ready within ${opts.timeoutMs ?? 30_000} ms: ${output.slice(-2000)}`),
      );
    }, opts.timeoutMs ?? 30_000);
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${command} exited (${code ?? signal}) before it was ready: ${output.slice(-2000)}`));
    });
    child.once('error', (err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(err);
    });
  });
}

let clockTicksPerSecond: number | null = null;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === null) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** User and system CPU seconds a process has used so far, from /proc/<pid>/stat. */
export function cpuSecondsOf(pid: number): { user: number; system: number; total: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may contain spaces; fields after the closing paren are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = ticksPerSecond();
  const user = Number(fields[11]) / hz;
  const system = Number(fields[12]) / hz;
  return { user, system, total: user + system };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmRSS:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}

/** Peak resident set size of a process in bytes (VmHWM). */
export function peakRssBytesOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = status.match(/^VmHWM:\s+(\d+) kB/m);
  return m ? Number(m[1]) * 1024 : 0;
}

/** True when `command` can be run (found on PATH). */
export function haveCommand(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The system's 1-minute load average: other work on the machine skews every figure. */
export function loadAverage(): number {
  try {
    return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  } catch {
    return Number.NaN;
  }
}
