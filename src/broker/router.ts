// The request router: decodes the header, checks the API and version against what this
// broker implements, decodes the body, runs the API's handler and encodes the response.
import { DecodeError, Reader } from '../protocol/codec.js';
import { API_SPECS, ApiKey, type ApiMessages } from '../protocol/generated/apis.js';
import {
  apiSpec,
  decodeRequestBody,
  decodeRequestHeader,
  encodeResponseFrame,
  type RequestHeader,
} from '../protocol/messages.js';
import { errorMessage, logger } from '../util/log.js';
import type { BrokerContext } from './context.js';
import type { ConnectionInfo, RequestProcessor } from './network.js';

/** Returned by a handler when no response is due (Produce with acks=0). */
export const NO_RESPONSE = Symbol('no-response');
/** Returned by a handler to close the connection instead of answering (acks=0 produce errors). */
export const CLOSE_CONNECTION = Symbol('close-connection');

type HandlerOutcome<K extends ApiKeyNumber> =
  | ApiMessages[K]['responseInit']
  | typeof NO_RESPONSE
  | typeof CLOSE_CONNECTION;

export interface RequestContext {
  readonly broker: BrokerContext;
  readonly conn: ConnectionInfo;
  readonly header: RequestHeader;
  readonly apiVersion: number;
  /** Size of the request frame in bytes. */
  readonly requestBytes: number;
}

export type ApiKeyNumber = keyof ApiMessages;

export interface ApiHandler<K extends ApiKeyNumber> {
  apiKey: K;
  minVersion: number;
  maxVersion: number;
  handle(ctx: RequestContext, req: ApiMessages[K]['request']): HandlerOutcome<K> | Promise<HandlerOutcome<K>>;
}

/** Builds a handler with its types tied to the api key. */
export function defineHandler<K extends ApiKeyNumber>(h: ApiHandler<K>): ApiHandler<K> {
  return h;
}

/** Any handler: method parameters are bivariant, so every ApiHandler<K> fits. */
type AnyHandler = ApiHandler<ApiKeyNumber>;

/** Observes each request (metrics). */
export type RequestObserver = (
  apiKey: number,
  apiVersion: number,
  latencyMs: number,
  requestBytes: number,
  responseBytes: number,
) => void;

export class RequestRouter implements RequestProcessor {
  private readonly log = logger('request');
  private readonly handlers = new Map<number, AnyHandler>();
  observer: RequestObserver | null = null;
  /** Told when a client connection closes. */
  closeListener: ((conn: ConnectionInfo) => void) | null = null;

  constructor(private readonly broker: BrokerContext) {}

  register(h: AnyHandler): void {
    const spec = apiSpec(h.apiKey);
    if (!spec) throw new Error(`no spec for api key ${h.apiKey}`);
    if (h.minVersion < spec.minVersion || h.maxVersion > spec.maxVersion) {
      throw new Error(`handler for ${spec.name} claims versions ${h.minVersion}-${h.maxVersion} beyond the spec`);
    }
    this.handlers.set(h.apiKey, h);
  }

  connectionClosed(conn: ConnectionInfo): void {
    this.closeListener?.(conn);
  }

  /** The versions this broker implements, for ApiVersions. */
  supportedApis(): { apiKey: number; minVersion: number; maxVersion: number }[] {
    return [...this.handlers.values()]
      .map((h) => ({ apiKey: h.apiKey as number, minVersion: h.minVersion, maxVersion: h.maxVersion }))
      .sort((a, b) => a.apiKey - b.apiKey);
  }

  async process(conn: ConnectionInfo, frame: Buffer): Promise<Buffer[] | null | 'close'> {
    const started = performance.now();
    const r = new Reader(frame);
    let header: RequestHeader;
    try {
      header = decodeRequestHeader(r);
    } catch (err) {
      this.log.warn(
        `closing connection ${conn.id} from ${conn.remoteAddress}: malformed request header: ${errorMessage(err)}`,
      );
      return 'close';
    }
    const { requestApiKey: apiKey, requestApiVersion: apiVersion } = header;
    const handler = this.handlers.get(apiKey);
    const name = API_SPECS[apiKey]?.name ?? `api key ${apiKey}`;
    if (!handler) {
      this.log.warn(
        `closing connection ${conn.id} from ${conn.remoteAddress} (client ${header.clientId}): unsupported ${name} (key ${apiKey}) request`,
      );
      return 'close';
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === ApiKey.ApiVersions) return this.apiVersionsFallback(header);
      this.log.warn(
        `closing connection ${conn.id} from ${conn.remoteAddress} (client ${header.clientId}): ${name} version ${apiVersion} is not supported (supported ${handler.minVersion}-${handler.maxVersion})`,
      );
      return 'close';
    }
    let body: unknown;
    try {
      body = decodeRequestBody(apiKey as ApiKeyNumber, apiVersion, r);
    } catch (err) {
      if (apiKey === ApiKey.ApiVersions && err instanceof DecodeError) {
        // Kafka answers a garbled ApiVersions with INVALID_REQUEST rather than closing.
        return encodeResponseFrame(ApiKey.ApiVersions, apiVersion, header.correlationId, {
          errorCode: 42,
          apiKeys: this.supportedApis(),
        });
      }
      this.log.warn(
        `closing connection ${conn.id} from ${conn.remoteAddress} (client ${header.clientId}): malformed ${name} v${apiVersion} request: ${errorMessage(err)}`,
      );
      return 'close';
    }
    const ctx: RequestContext = { broker: this.broker, conn, header, apiVersion, requestBytes: frame.length };
    const result = await handler.handle(ctx, body as never);
    if (result === CLOSE_CONNECTION) return 'close';
    if (result === NO_RESPONSE) {
      this.observer?.(apiKey, apiVersion, performance.now() - started, frame.length, 0);
      return null;
    }
    const out = encodeResponseFrame(apiKey as ApiKeyNumber, apiVersion, header.correlationId, result as never);
    if (this.observer) {
      let bytes = 0;
      for (const c of out) bytes += c.length;
      this.observer(apiKey, apiVersion, performance.now() - started, frame.length, bytes);
    }
    return out;
  }

  /** An unsupported ApiVersions version gets a v0 response listing what we support. */
  private apiVersionsFallback(header: RequestHeader): Buffer[] {
    return encodeResponseFrame(ApiKey.ApiVersions, 0, header.correlationId, {
      errorCode: 35,
      apiKeys: this.supportedApis(),
    });
  }
}
