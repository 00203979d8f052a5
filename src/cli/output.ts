// Output helpers for the client commands: aligned tables, JSON, and error messages that
// say what failed and what to check, without stack traces.
import {
  ClientError,
  type ClientOptions,
  ConfigError,
  ConnectionError,
  KafkaError,
  RequestTimeoutError,
  RetriesExhaustedError,
} from '../client/index.js';
import type { ParsedArgs } from './args.js';

/** Bad command-line usage: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the command explains itself (exit code 1). */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

export function bootstrapOf(args: ParsedArgs): string {
  return args.string('bootstrap-server') ?? DEFAULT_BOOTSTRAP;
}

/** Client options for a command: few retries, so an unreachable broker fails in seconds. */
export function clientOptions(args: ParsedArgs): ClientOptions {
  return {
    bootstrapServers: bootstrapOf(args),
    clientId: 'eddy-cli',
    requestTimeoutMs: args.integer('request-timeout-ms', 1) ?? 30_000,
    connectTimeoutMs: 5_000,
    retries: 3,
    logger: null,
  };
}

export type Cell = string | number | boolean | null | undefined;

/** Left-aligned columns separated by two spaces, headers in capitals (like Kafka's tools). */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers.map((h) => h.toUpperCase())), ...text.map(line)].join('\n') + '\n';
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function rootCause(err: unknown): unknown {
  let e = err;
  for (let i = 0; i < 5 && e instanceof RetriesExhaustedError && e.cause !== undefined; i++) e = e.cause;
  return e;
}

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused, nothing is listening on that port',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ECONNRESET: 'connection reset by the peer',
};

/** One or two lines explaining a failure to a person: what, why, and what to check. */
export function explainError(err: unknown, bootstrap: string): string {
  const e = rootCause(err);
  if (e instanceof UsageError) return `${e.message}\n(see --help)`;
  if (e instanceof CommandError) return e.message;
  if (e instanceof ConnectionError) {
    const cause = e.cause instanceof Error ? e.cause : null;
    const code = cause && 'code' in cause && typeof cause.code === 'string' ? cause.code : '';
    const reason = code
      ? `${SOCKET_ERRORS[code] ?? cause?.message ?? code} (${code})`
      : cause
        ? cause.message
        : e.message.slice(e.address.length + 2);
    return (
      `cannot connect to ${e.address}: ${reason}\n` +
      `check that a Kafka-compatible broker is running and reachable there, and that ` +
      `--bootstrap-server (now ${bootstrap}) names its listener host:port`
    );
  }
  if (e instanceof RequestTimeoutError)
    return `${e.message}\nthe broker at ${bootstrap} did not answer in time; check that it is healthy or raise --request-timeout-ms`;
  if (e instanceof KafkaError) return `the broker refused: ${e.message}`;
  if (e instanceof ConfigError) return `invalid setting: ${e.message}`;
  if (e instanceof ClientError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Exit code for a failure: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}
