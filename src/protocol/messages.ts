// Request/response headers and whole-message framing on top of the generated codecs.
import { DecodeError, type Reader, Writer } from './codec.js';
import { API_SPECS, ApiKey, type ApiMessages, type ApiSpec } from './generated/apis.js';
import {
  decodeRequestHeader as decodeRequestHeaderRaw,
  decodeResponseHeader as decodeResponseHeaderRaw,
  encodeRequestHeader as encodeRequestHeaderRaw,
  encodeResponseHeader as encodeResponseHeaderRaw,
  type RequestHeader,
  type ResponseHeader,
} from './generated/headers.js';

export type { RequestHeader, ResponseHeader };

export function apiSpec(apiKey: number): ApiSpec | undefined {
  const spec = API_SPECS[apiKey];
  return spec !== undefined && spec.apiKey === apiKey ? spec : undefined;
}

export function isFlexibleRequest(apiKey: number, apiVersion: number): boolean {
  const spec = apiSpec(apiKey);
  return spec !== undefined && spec.requestFlexibleMin >= 0 && apiVersion >= spec.requestFlexibleMin;
}

/** Request header version: 2 for flexible API versions, 0 only for ControlledShutdown v0, else 1. */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  if (isFlexibleRequest(apiKey, apiVersion)) return 2;
  if (apiKey === ApiKey.ControlledShutdown && apiVersion === 0) return 0;
  return 1;
}

/** Response header version: 1 for flexible versions, except ApiVersions which always uses 0. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  if (apiKey === ApiKey.ApiVersions) return 0;
  const spec = apiSpec(apiKey);
  if (spec !== undefined && spec.responseFlexibleMin >= 0 && apiVersion >= spec.responseFlexibleMin) return 1;
  return 0;
}

/** Reads api key and version from the first 4 bytes of a request body without consuming them. */
export function peekApiKeyAndVersion(frame: Buffer): { apiKey: number; apiVersion: number } {
  if (frame.length < 4) throw new DecodeError('request shorter than its header');
  return { apiKey: frame.readInt16BE(0), apiVersion: frame.readInt16BE(2) };
}

/**
 * Decodes a request header. For an API version the specs do not know (for example a newer
 * ApiVersions), the header version is chosen as for the nearest known version, so the
 * broker can still answer with UNSUPPORTED_VERSION.
 */
export function decodeRequestHeader(r: Reader): RequestHeader {
  // Peek in place: a subarray per request is measurable on small requests.
  if (r.end - r.pos < 4) throw new DecodeError('request shorter than its header');
  const apiKey = r.buf.readInt16BE(r.pos);
  const apiVersion = r.buf.readInt16BE(r.pos + 2);
  const spec = apiSpec(apiKey);
  let headerVersion = 1;
  if (spec !== undefined) {
    const clamped = Math.min(Math.max(apiVersion, spec.minVersion), spec.maxVersion);
    headerVersion = requestHeaderVersion(apiKey, clamped);
  }
  return decodeRequestHeaderRaw(r, headerVersion);
}

export function encodeRequestHeader(w: Writer, h: RequestHeader): void {
  encodeRequestHeaderRaw(w, h, requestHeaderVersion(h.requestApiKey, h.requestApiVersion));
}

export interface RequestEnvelope<K extends keyof ApiMessages> {
  apiKey: K;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  body: ApiMessages[K]['requestInit'];
}

/** Encodes a whole request frame: size prefix, header, body. Returned as chunks for writev. */
export function encodeRequestFrame<K extends keyof ApiMessages>(req: RequestEnvelope<K>): Buffer[] {
  const spec = apiSpec(req.apiKey);
  if (spec === undefined) throw new Error(`unknown api key ${req.apiKey}`);
  const w = new Writer(256);
  w.int32(0); // size, patched below
  encodeRequestHeader(w, {
    requestApiKey: req.apiKey,
    requestApiVersion: req.apiVersion,
    correlationId: req.correlationId,
    clientId: req.clientId,
  });
  (spec.encodeRequest as (w: Writer, m: unknown, v: number) => void)(w, req.body, req.apiVersion);
  return patchSize(w);
}

/** Encodes a whole response frame: size prefix, header, body. */
export function encodeResponseFrame<K extends keyof ApiMessages>(
  apiKey: K,
  apiVersion: number,
  correlationId: number,
  body: ApiMessages[K]['responseInit'],
): Buffer[] {
  const spec = apiSpec(apiKey);
  if (spec === undefined) throw new Error(`unknown api key ${apiKey}`);
  const w = new Writer(256);
  w.int32(0);
  encodeResponseHeaderRaw(w, { correlationId }, responseHeaderVersion(apiKey, apiVersion));
  (spec.encodeResponse as (w: Writer, m: unknown, v: number) => void)(w, body, apiVersion);
  return patchSize(w);
}

function patchSize(w: Writer): Buffer[] {
  const chunks = w.finishChunks();
  const first = chunks[0] as Buffer;
  first.writeInt32BE(w.length - 4, 0);
  return chunks;
}

export function decodeResponseHeader(r: Reader, apiKey: number, apiVersion: number): ResponseHeader {
  return decodeResponseHeaderRaw(r, responseHeaderVersion(apiKey, apiVersion));
}

export function encodeResponseHeader(w: Writer, h: ResponseHeader, apiKey: number, apiVersion: number): void {
  encodeResponseHeaderRaw(w, h, responseHeaderVersion(apiKey, apiVersion));
}

/** Decodes a request body of a known api key and version. */
export function decodeRequestBody<K extends keyof ApiMessages>(
  apiKey: K,
  apiVersion: number,
  r: Reader,
): ApiMessages[K]['request'] {
  const spec = apiSpec(apiKey);
  if (spec === undefined) throw new DecodeError(`unknown api key ${apiKey}`);
  return spec.decodeRequest(r, apiVersion) as ApiMessages[K]['request'];
}

/** Decodes a response body of a known api key and version. */
export function decodeResponseBody<K extends keyof ApiMessages>(
  apiKey: K,
  apiVersion: number,
  r: Reader,
): ApiMessages[K]['response'] {
  const spec = apiSpec(apiKey);
  if (spec === undefined) throw new DecodeError(`unknown api key ${apiKey}`);
  return spec.decodeResponse(r, apiVersion) as ApiMessages[K]['response'];
}
