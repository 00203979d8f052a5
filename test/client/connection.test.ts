import assert from 'node:assert/strict';
import * as net from 'node:net';
import { afterEach, describe, it } from 'node:test';
import { Cluster } from '../../src/client/cluster.js';
import { Connection } from '../../src/client/connection.js';
import { AbortError, ConnectionError, RequestTimeoutError } from '../../src/client/errors.js';
import { Writer } from '../../src/protocol/codec.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { apiVersionsBody, type FakeBroker, type FakeRequest, startFakeBroker } from '../helpers/fake-broker.js';

const VERSIONS = apiVersionsBody({ 18: [0, 3], 3: [0, 12], 10: [0, 4], 1: [4, 12] });

let brokers: FakeBroker[] = [];
let conns: { close(): unknown }[] = [];
afterEach(async () => {
  for (const c of conns) await c.close();
  for (const b of brokers) await b.close();
  brokers = [];
  conns = [];
});

async function broker(handler: (req: FakeRequest) => void): Promise<FakeBroker> {
  const b = await startFakeBroker((req) => {
    if (req.header.requestApiKey === ApiKey.ApiVersions) req.reply(VERSIONS);
    else handler(req);
  });
  brokers.push(b);
  return b;
}

function connection(b: FakeBroker, extra: Partial<ConstructorParameters<typeof Connection>[0]> = {}): Connection {
  const c = new Connection({ host: '127.0.0.1', port: b.port, clientId: 'test', ...extra });
  conns.push(c);
  return c;
}

const metadataReply = (req: FakeRequest, clusterId: string): void =>
  req.reply<3>({ brokers: [], clusterId, controllerId: 1, topics: [] });

describe('Connection', () => {
  it('pipelines up to maxInFlightRequests and matches responses by correlation id', async () => {
    let outstanding = 0;
    let maxOutstanding = 0;
    const b = await broker((req) => {
      outstanding++;
      maxOutstanding = Math.max(maxOutstanding, outstanding);
      // Answer each after a short delay, in order.
      setTimeout(() => {
        outstanding--;
        const topics = (req.body as { topics: { name: string }[] }).topics;
        metadataReply(req, topics[0]?.name ?? '');
      }, 5);
    });
    const c = connection(b, { maxInFlightRequests: 4 });
    await c.connect();
    const names = Array.from({ length: 40 }, (_, i) => `t${i}`);
    const answers = await Promise.all(names.map((name) => c.request(ApiKey.Metadata, { topics: [{ name }] })));
    assert.deepEqual(
      answers.map((a) => a.clusterId),
      names,
    );
    assert.equal(maxOutstanding, 4);
    const ids = b.requests.filter((r) => r.header.requestApiKey === ApiKey.Metadata).map((r) => r.header.correlationId);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('negotiates the highest common version per API', async () => {
    const b = await broker((req) => metadataReply(req, 'x'));
    const c = connection(b);
    await c.connect();
    assert.equal(c.versionFor(ApiKey.Metadata), 12);
    assert.equal(c.versionFor(ApiKey.FindCoordinator), 4);
    await c.request(ApiKey.Metadata, { topics: [] });
    assert.equal(b.requests.at(-1)?.header.requestApiVersion, 12);
    assert.throws(() => c.versionFor(ApiKey.CreateTopics), /no usable version/);
  });

  it('retries ApiVersions at the version a broker that rejects v3 offers (KIP-511)', async () => {
    const b = await startFakeBroker((req) => {
      if (req.header.requestApiKey !== ApiKey.ApiVersions) return;
      if (req.header.requestApiVersion > 2) {
        // An UNSUPPORTED_VERSION answer in v0 layout carrying the broker's own range.
        const w = new Writer();
        w.int32(0);
        w.int32(req.header.correlationId);
        w.int16(35);
        w.int32(1);
        w.int16(18);
        w.int16(0);
        w.int16(2);
        const f = w.finish();
        f.writeInt32BE(f.length - 4, 0);
        req.replyRaw(f);
      } else req.reply(apiVersionsBody({ 18: [0, 2], 3: [0, 9] }), req.header.requestApiVersion);
    });
    brokers.push(b);
    const c = connection(b);
    await c.connect();
    assert.deepEqual(
      b.requests.map((r) => r.header.requestApiVersion),
      [3, 2],
    );
    assert.equal(c.versionFor(ApiKey.Metadata), 9);
  });

  it('times out a request, closes the connection and fails the requests behind it', async () => {
    const b = await broker(() => {
      /* never answers */
    });
    const c = connection(b, { requestTimeoutMs: 150 });
    await c.connect();
    const started = Date.now();
    const first = c.request(ApiKey.Metadata, { topics: [] });
    const second = c.request(ApiKey.Metadata, { topics: [] }, { timeoutMs: 10_000 });
    await assert.rejects(first, RequestTimeoutError);
    await assert.rejects(second, ConnectionError);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 140 && elapsed < 2000, `timed out after ${elapsed} ms`);
    assert.ok(c.isClosed);
  });

  it('honours AbortSignal for queued and in-flight requests', async () => {
    const held: FakeRequest[] = [];
    const b = await broker((req) => held.push(req));
    const c = connection(b, { maxInFlightRequests: 1 });
    await c.connect();
    const inFlight = new AbortController();
    const queued = new AbortController();
    const p1 = c.request(ApiKey.Metadata, { topics: [{ name: 'a' }] }, { signal: inFlight.signal });
    const p2 = c.request(ApiKey.Metadata, { topics: [{ name: 'b' }] }, { signal: queued.signal });
    const p3 = c.request(ApiKey.Metadata, { topics: [{ name: 'c' }] });
    queued.abort();
    await assert.rejects(p2, AbortError);
    inFlight.abort();
    await assert.rejects(p1, AbortError);
    // The aborted in-flight request still occupies its slot until its response arrives.
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(held.length, 1);
    metadataReply(held[0] as FakeRequest, 'late');
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(held.length, 2, 'the queued request behind it was sent');
    metadataReply(held[1] as FakeRequest, 'c');
    assert.equal((await p3).clusterId, 'c');
    const already = new AbortController();
    already.abort();
    await assert.rejects(c.request(ApiKey.Metadata, { topics: [] }, { signal: already.signal }), AbortError);
  });

  it('runs the socket factory and the authenticate hook before other requests', async () => {
    const b = await broker((req) => metadataReply(req, 'ok'));
    const order: string[] = [];
    const c = connection(b, {
      socketFactory: async ({ host, port }) => {
        order.push('socket');
        const s = net.connect({ host, port });
        await new Promise((r) => s.once('connect', r));
        return s;
      },
      authenticate: async ({ connection: conn }) => {
        order.push(`auth after ${conn.brokerVersionRange(ApiKey.ApiVersions)?.max}`);
        // A hook may talk to the broker itself (as SASL does).
        const md = await conn.send(ApiKey.Metadata, { topics: [] });
        order.push(`hook saw ${md.clusterId}`);
      },
    });
    const md = await c.request(ApiKey.Metadata, { topics: [] });
    assert.equal(md.clusterId, 'ok');
    assert.deepEqual(order, ['socket', 'auth after 3', 'hook saw ok']);
  });

  it('fails pending requests with a retriable error when the broker disconnects', async () => {
    const b = await broker(() => {
      /* hold */
    });
    const c = connection(b);
    await c.connect();
    const p = c.request(ApiKey.Metadata, { topics: [] });
    await new Promise((r) => setTimeout(r, 20));
    b.dropConnections();
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof ConnectionError);
    assert.equal(err.retriable, true);
  });
});

describe('Cluster', () => {
  it('reconnects after a disconnect and backs off while a broker refuses connections', async () => {
    const b = await broker((req) =>
      req.reply<3>({
        brokers: [{ nodeId: 1, host: '127.0.0.1', port: req.socket.localPort as number }],
        clusterId: 'c1',
        controllerId: 1,
        topics: [],
      }),
    );
    const cluster = new Cluster({
      bootstrapServers: b.address,
      logger: null,
      reconnectBackoffMs: 100,
      reconnectBackoffMaxMs: 400,
      retries: 0,
    });
    conns.push(cluster);
    await cluster.connect();
    assert.equal(cluster.clusterId, 'c1');
    const dropped = Date.now();
    b.dropConnections();
    await new Promise((r) => setTimeout(r, 20));
    // The next request reconnects, after the reconnect backoff (100 ms, -20% jitter at most).
    await cluster.refreshMetadata();
    assert.ok(Date.now() - dropped >= 75, `reconnected after ${Date.now() - dropped} ms`);
    assert.equal(b.connections, 2);
  });

  it('gives a clear error when no bootstrap broker answers', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const cluster = new Cluster({
      bootstrapServers: `127.0.0.1:${port}`,
      logger: null,
      retries: 2,
      retryBackoffMs: 10,
      reconnectBackoffMs: 10,
    });
    conns.push(cluster);
    await assert.rejects(cluster.connect(), (err: Error) => {
      assert.match(err.message, /gave up after 3 attempts/);
      assert.match(err.message, new RegExp(`127.0.0.1:${port}`));
      return true;
    });
  });
});
