// Ready-made transport and authentication hooks: TLS through the socketFactory hook and
// SASL/PLAIN through the authenticate hook (SaslHandshake v1 + SaslAuthenticate, KIP-152).
// Other mechanisms plug into the same authenticate hook.
import type * as net from 'node:net';
import * as tls from 'node:tls';
import { ErrorCode, KafkaError } from '../protocol/errors.js';
import { ApiKey } from '../protocol/generated/apis.js';
import type { AuthenticateHook, SocketFactory } from './connection.js';
import { AbortError } from './errors.js';

/** Opens TLS connections; `options` are node:tls's (ca, cert, key, servername, ...). */
export function tlsSocketFactory(options: tls.ConnectionOptions = {}): SocketFactory {
  return ({ host, port, timeoutMs, signal }) =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = tls.connect({ servername: host, ...options, host, port });
      const fail = (err: Error): void => {
        cleanup();
        socket.destroy();
        reject(err);
      };
      const onError = (err: Error): void => fail(err);
      const onAbort = (): void => fail(new AbortError(signal?.reason));
      const timer = setTimeout(() => fail(new Error(`TLS connect timed out after ${timeoutMs} ms`)), timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        socket.off('error', onError);
        signal?.removeEventListener('abort', onAbort);
      };
      socket.once('error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.once('secureConnect', () => {
        cleanup();
        resolve(socket);
      });
    });
}

/** SASL/PLAIN (RFC 4616): authorization id empty, then user name and password. */
export function saslPlain(credentials: { username: string; password: string }): AuthenticateHook {
  return async ({ connection }) => {
    const handshakeVersion = connection.versionFor(ApiKey.SaslHandshake);
    const hs = await connection.send(ApiKey.SaslHandshake, { mechanism: 'PLAIN' }, { version: handshakeVersion });
    if (hs.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(hs.errorCode, `SASL/PLAIN not enabled; the broker offers ${hs.mechanisms.join(', ')}`);
    }
    const token = Buffer.from(`\u0000${credentials.username}\u0000${credentials.password}`, 'utf8');
    if (handshakeVersion < 1) {
      // v0 handshakes send the raw token next, without a Kafka header; not supported here.
      throw new KafkaError(ErrorCode.UNSUPPORTED_VERSION, 'SASL needs SaslHandshake v1 (Kafka 1.0+)');
    }
    const auth = await connection.send(ApiKey.SaslAuthenticate, { authBytes: token });
    if (auth.errorCode !== ErrorCode.NONE) {
      throw new KafkaError(auth.errorCode, auth.errorMessage ?? 'SASL/PLAIN authentication failed');
    }
  };
}
