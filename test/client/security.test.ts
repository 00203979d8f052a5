// The transport and authentication hooks: TLS through socketFactory, SASL/PLAIN through
// authenticate, against the scripted broker (behind a TLS-terminating proxy for TLS).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import { Cluster } from '../../src/client/cluster.js';
import * as kafkajsFacade from '../../src/client/kafkajs/index.js';
import { saslPlain, tlsSocketFactory } from '../../src/client/security.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { SaslAuthenticateRequest } from '../../src/protocol/generated/api/sasl-authenticate.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { apiVersionsBody, type FakeBroker, startFakeBroker } from '../helpers/fake-broker.js';

let dir: string;
let cert: Buffer;
let key: Buffer;
let broker: FakeBroker;
let proxy: tls.Server;
let proxyPort: number;
const authenticated = new WeakSet<net.Socket>();

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eddy-tls-'));
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]),
    { stdio: 'pipe' },
  );
  cert = readFileSync(join(dir, 'cert.pem'));
  key = readFileSync(join(dir, 'key.pem'));
  broker = await startFakeBroker((req) => {
    const k = req.header.requestApiKey;
    if (k === ApiKey.ApiVersions) req.reply(apiVersionsBody({ 18: [0, 3], 3: [0, 12], 17: [0, 1], 36: [0, 2] }));
    else if (k === ApiKey.SaslHandshake) req.reply<17>({ errorCode: 0, mechanisms: ['PLAIN'] });
    else if (k === ApiKey.SaslAuthenticate) {
      const token = (req.body as SaslAuthenticateRequest).authBytes.toString('utf8');
      const ok = token === '\u0000alice\u0000secret';
      if (ok) authenticated.add(req.socket);
      req.reply<36>({
        errorCode: ok ? 0 : ErrorCode.SASL_AUTHENTICATION_FAILED,
        errorMessage: ok ? null : 'bad credentials',
        authBytes: Buffer.alloc(0),
      });
    } else if (k === ApiKey.Metadata) {
      req.reply<3>({
        brokers: [],
        clusterId: authenticated.has(req.socket) ? 'authenticated' : 'anonymous',
        controllerId: -1,
        topics: [],
      });
    }
  });
  proxy = tls.createServer({ key, cert }, (clear) => {
    const up = net.connect({ host: '127.0.0.1', port: broker.port });
    clear.pipe(up).pipe(clear);
    clear.on('error', () => up.destroy());
    up.on('error', () => clear.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyPort = (proxy.address() as net.AddressInfo).port;
});

after(async () => {
  await new Promise<void>((r) => proxy.close(() => r()));
  await broker.close();
  rmSync(dir, { recursive: true, force: true });
});

const quick = { logger: null, retries: 0, retryBackoffMs: 10, reconnectBackoffMs: 10 } as const;

describe('TLS and SASL hooks', () => {
  it('talks to a broker over TLS when the certificate is trusted', async () => {
    const cluster = new Cluster({
      bootstrapServers: `127.0.0.1:${proxyPort}`,
      socketFactory: tlsSocketFactory({ ca: cert }),
      ...quick,
    });
    try {
      await cluster.connect();
      assert.equal(cluster.clusterId, 'anonymous');
    } finally {
      await cluster.close();
    }
  });

  it('refuses a certificate it does not trust', async () => {
    const cluster = new Cluster({
      bootstrapServers: `127.0.0.1:${proxyPort}`,
      socketFactory: tlsSocketFactory(),
      ...quick,
    });
    try {
      await assert.rejects(cluster.connect(), /self[- ]signed|certificate/i);
    } finally {
      await cluster.close();
    }
  });

  it('authenticates with SASL/PLAIN before any other request', async () => {
    const cluster = new Cluster({
      bootstrapServers: broker.address,
      authenticate: saslPlain({ username: 'alice', password: 'secret' }),
      ...quick,
    });
    try {
      await cluster.connect();
      assert.equal(cluster.clusterId, 'authenticated');
    } finally {
      await cluster.close();
    }
  });

  it('fails a wrong password at once, without retrying', async () => {
    const before = broker.requests.filter((r) => r.header.requestApiKey === ApiKey.SaslAuthenticate).length;
    const cluster = new Cluster({
      bootstrapServers: broker.address,
      authenticate: saslPlain({ username: 'alice', password: 'wrong' }),
      ...quick,
      retries: 3,
    });
    try {
      await assert.rejects(cluster.connect(), /SASL_AUTHENTICATION_FAILED: bad credentials/);
      const attempts =
        broker.requests.filter((r) => r.header.requestApiKey === ApiKey.SaslAuthenticate).length - before;
      assert.equal(attempts, 1);
    } finally {
      await cluster.close();
    }
  });

  it('eddy/kafkajs takes kafkajs-style ssl and sasl settings', async () => {
    const kafka = new kafkajsFacade.Kafka({
      brokers: [`127.0.0.1:${proxyPort}`],
      ssl: { ca: cert },
      sasl: { mechanism: 'plain', username: 'alice', password: 'secret' },
      logLevel: kafkajsFacade.logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    assert.equal((await admin.describeCluster()).clusterId, 'authenticated');
    await admin.disconnect();
    assert.throws(
      () => new kafkajsFacade.Kafka({ brokers: ['x:1'], sasl: { mechanism: 'aws' } }),
      kafkajsFacade.KafkaJSNotImplemented,
    );
  });

  it('combines TLS and SASL', async () => {
    const cluster = new Cluster({
      bootstrapServers: `127.0.0.1:${proxyPort}`,
      socketFactory: tlsSocketFactory({ ca: cert }),
      authenticate: saslPlain({ username: 'alice', password: 'secret' }),
      ...quick,
    });
    try {
      await cluster.connect();
      assert.equal(cluster.clusterId, 'authenticated');
    } finally {
      await cluster.close();
    }
  });
});
