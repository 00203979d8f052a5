// The network layer under pipelining, bad frames and many connections.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type EmbeddedBroker, startBroker } from '../../src/index.js';
import { ApiKey } from '../../src/protocol/generated/apis.js';
import { setLogSink } from '../../src/util/log.js';
import { RawClient } from '../helpers/raw-client.js';

function header(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  bodyBytes: Buffer,
  declaredSize?: number,
): Buffer {
  const clientId = Buffer.from('raw');
  const h = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  const size = declaredSize ?? h.length - 4 + bodyBytes.length;
  h.writeInt32BE(size, 0);
  h.writeInt16BE(apiKey, 4);
  h.writeInt16BE(apiVersion, 6);
  h.writeInt32BE(correlationId, 8);
  h.writeInt16BE(clientId.length, 12);
  clientId.copy(h, 14);
  return Buffer.concat([h, bodyBytes]);
}

describe('broker network', () => {
  let eb: EmbeddedBroker;
  const logLines: string[] = [];
  let restoreSink: ReturnType<typeof setLogSink>;

  before(async () => {
    eb = await startBroker({
      config: { 'socket.request.max.bytes': 100_000, 'connections.max.idle.ms': 400 },
      logLevel: 'info',
    });
    restoreSink = setLogSink((level, name, message) => logLines.push(`${level} ${name} ${message}`));
  });
  after(async () => {
    setLogSink(restoreSink);
    await eb.stop();
  });

  it('answers pipelined requests in order', async () => {
    const c = await RawClient.connect(eb.bootstrap);
    try {
      const ids: number[] = [];
      for (let i = 0; i < 60; i++) {
        if (i % 2 === 0)
          ids.push(c.send(ApiKey.ApiVersions, 3, { clientSoftwareName: 'x', clientSoftwareVersion: '1' }));
        else ids.push(c.send(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false }));
      }
      for (let i = 0; i < ids.length; i++) {
        if (i % 2 === 0) await c.receive(ApiKey.ApiVersions, 3, ids[i]);
        else await c.receive(ApiKey.Metadata, 12, ids[i]);
      }
    } finally {
      c.close();
    }
  });

  it('closes connections that send oversized, negative, unknown or malformed requests, and keeps serving others', async () => {
    const healthy = await RawClient.connect(eb.bootstrap);
    try {
      const cases: [string, Buffer][] = [
        ['oversized', header(ApiKey.Metadata, 12, 1, Buffer.alloc(0), 5_000_000)],
        ['negative size', header(ApiKey.Metadata, 12, 1, Buffer.alloc(0), -5)],
        ['unknown api key', header(999, 0, 1, Buffer.alloc(8))],
        ['api not served by a broker', header(ApiKey.LeaderAndIsr, 7, 1, Buffer.alloc(8))],
        ['unsupported version', header(ApiKey.Fetch, 2, 1, Buffer.alloc(8))],
        ['truncated body', header(ApiKey.Metadata, 4, 1, Buffer.from([0, 0, 0, 5, 0]))],
        ['huge array count', header(ApiKey.Metadata, 4, 1, Buffer.from([0x7f, 0xff, 0xff, 0xff, 1]))],
        ['short header', Buffer.from([0, 0, 0, 2, 0, 3])],
      ];
      for (const [name, bytes] of cases) {
        const c = await RawClient.connect(eb.bootstrap);
        c.writeRaw(bytes);
        assert.ok(await c.waitClosed(), `${name}: the broker closes the connection`);
        c.close();
        const md = await healthy.request(ApiKey.Metadata, 12, { topics: null, allowAutoTopicCreation: false });
        assert.equal(md.brokers.length, 1, `${name}: other connections still served`);
      }
      assert.ok(
        logLines.some((l) => l.includes('socket.request.max.bytes')),
        'oversized requests are logged',
      );
      assert.ok(
        logLines.some((l) => l.includes('not supported')),
        'unsupported versions are logged',
      );
    } finally {
      healthy.close();
    }
  });

  it('closes idle connections after connections.max.idle.ms', async () => {
    const c = await RawClient.connect(eb.bootstrap);
    await c.request(ApiKey.ApiVersions, 0, {});
    assert.ok(await c.waitClosed(3000));
  });

  it('serves many concurrent connections', async () => {
    const clients = await Promise.all(Array.from({ length: 150 }, () => RawClient.connect(eb.bootstrap)));
    try {
      const results = await Promise.all(clients.map((c) => c.request(ApiKey.ApiVersions, 2, {})));
      assert.ok(results.every((r) => r.errorCode === 0));
    } finally {
      for (const c of clients) c.close();
    }
  });
});
