// Small shared helpers: backoff, cancellable sleeps, retry loops, loggers.
import { AbortError, isRetriableError, RetriesExhaustedError } from './errors.js';

export interface Logger {
  debug(message: string, extra?: Record<string, unknown>): void;
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

const noop = (): void => {};
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

export type LogLevel = 'nothing' | 'error' | 'warn' | 'info' | 'debug';
const LEVELS: Record<LogLevel, number> = { nothing: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** A logger writing to stderr at or above `level`. */
export function consoleLogger(level: LogLevel = 'warn', prefix = 'eddy'): Logger {
  const n = LEVELS[level];
  const at =
    (lvl: LogLevel) =>
    (message: string, extra?: Record<string, unknown>): void => {
      if (LEVELS[lvl] > n) return;
      const tail = extra === undefined ? '' : ` ${safeJson(extra)}`;
      process.stderr.write(`[${prefix}] ${lvl.toUpperCase()} ${message}${tail}\n`);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) => (x instanceof Error ? x.message : x));
  } catch {
    return String(v);
  }
}

/** Exponential backoff with +-20% jitter, as Kafka's clients do (KIP-580). */
export function backoffMs(attempt: number, initialMs: number, maxMs: number): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  const jitter = 0.8 + Math.random() * 0.4;
  return Math.max(0, Math.min(maxMs, Math.round(base * jitter)));
}

export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError(signal.reason);
}

/**
 * Resolves after `ms`, or rejects with AbortError when `signal` fires. Background loops pass
 * `unref` so their timers never hold the process open; waits someone awaits must not.
 */
export function sleep(ms: number, signal?: AbortSignal, unref = false): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new AbortError(signal.reason));
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new AbortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    if (unref) timer.unref();
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RetryOptions {
  /** Retries after the first attempt. */
  retries: number;
  initialRetryTimeMs: number;
  maxRetryTimeMs: number;
  signal?: AbortSignal;
  /** Whether an error is worth another attempt; defaults to its `retriable` flag. */
  isRetriable?: (err: unknown) => boolean;
  /** Called before each retry (for example to refresh metadata). */
  onRetry?: (err: unknown, attempt: number) => void | Promise<void>;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 5, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };

/** Runs `fn` until it succeeds, a non-retriable error occurs, or retries run out. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  const retriable = opts.isRetriable ?? isRetriableError;
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(opts.signal);
    try {
      return await fn(attempt);
    } catch (err) {
      if (err instanceof AbortError || !retriable(err)) throw err;
      if (attempt >= opts.retries) throw new RetriesExhaustedError(attempt + 1, err);
      await opts.onRetry?.(err, attempt);
      await sleep(backoffMs(attempt, opts.initialRetryTimeMs, opts.maxRetryTimeMs), opts.signal);
    }
  }
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Parses "host:port" (IPv6 in brackets allowed). */
export function parseAddress(address: string, defaultPort = 9092): { host: string; port: number } {
  const s = address.trim().replace(/^[a-z]+:\/\//i, '');
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1] as string, port: v6[2] ? Number(v6[2]) : defaultPort };
  const i = s.lastIndexOf(':');
  if (i < 0) return { host: s, port: defaultPort };
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}
