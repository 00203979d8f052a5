// Errors the client raises besides broker error codes (those are KafkaError from protocol/).
import { KafkaError } from '../protocol/errors.js';

export { KafkaError };

/** Base class of client-side failures; `retriable` tells retry loops whether to try again. */
export class ClientError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClientError';
    this.retriable = retriable;
  }
}

/** The socket could not be opened, or closed with requests in flight. */
export class ConnectionError extends ClientError {
  readonly address: string;
  constructor(address: string, message: string, options?: { cause?: unknown }) {
    super(`${address}: ${message}`, true, options);
    this.name = 'ConnectionError';
    this.address = address;
  }
}

/** No response within the request timeout; the connection is closed, as responses arrive in order. */
export class RequestTimeoutError extends ClientError {
  constructor(message: string) {
    super(message, true);
    this.name = 'RequestTimeoutError';
  }
}

/** Used after close(), or when a request is abandoned because its client is shutting down. */
export class ClientClosedError extends ClientError {
  constructor(what = 'client') {
    super(`${what} is closed`, false);
    this.name = 'ClientClosedError';
  }
}

/** The operation was cancelled through an AbortSignal. */
export class AbortError extends ClientError {
  constructor(reason?: unknown) {
    super(reason instanceof Error ? reason.message : 'the operation was aborted', false, { cause: reason });
    this.name = 'AbortError';
  }
}

/** Retries ran out; `cause` is the last failure. */
export class RetriesExhaustedError extends ClientError {
  readonly attempts: number;
  constructor(attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super(`gave up after ${attempts} attempts: ${detail}`, false, { cause });
    this.name = 'RetriesExhaustedError';
    this.attempts = attempts;
  }
}

/** Invalid settings or arguments. */
export class ConfigError extends ClientError {
  constructor(message: string) {
    super(message, false);
    this.name = 'ConfigError';
  }
}

/** Broker or client produced something we cannot interpret. */
export class ProtocolError extends ClientError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, false, options);
    this.name = 'ProtocolError';
  }
}

export function isRetriableError(err: unknown): boolean {
  return (err instanceof ClientError || err instanceof KafkaError) && err.retriable;
}

/** Error code of a KafkaError, or undefined. */
export function kafkaErrorCode(err: unknown): number | undefined {
  return err instanceof KafkaError ? err.code : undefined;
}
