// The chaos proxy tells node processes apart by the owner of the connecting socket, and cuts
// (drop or blackhole) or heals traffic between chosen pairs, new and open connections alike.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EXTERNAL, Network } from './proxy.js';

// A child process that connects, sends "ping" and reports what happened.
const PINGER = `
const net = require('net');
const s = net.connect(Number(process.argv[1]), '127.0.0.1', () => s.write('ping'));
setTimeout(() => { console.log('timeout'); process.exit(0); }, Number(process.argv[2]));
s.on('data', (d) => { console.log('echo:' + d); process.exit(0); });
s.on('close', () => { console.log('closed'); process.exit(0); });
s.on('error', () => {});
`;

/** Runs the pinger as node `id` of `net`; resolves with its one-line verdict. */
function pingAs(net: Network, id: number, port: number, waitMs = 1500): Promise<string> {
  const child = spawn(process.execPath, ['-e', PINGER, String(port), String(waitMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  net.setPid(id, child.pid);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
  });
  return new Promise((resolve) =>
    child.once('exit', () => {
      net.setPid(id, undefined);
      resolve(out.trim());
    }),
  );
}

/** Pings from this process (an external client). */
function pingHere(port: number, waitMs = 1500): Promise<string> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write('ping'));
    const t = setTimeout(() => {
      s.destroy();
      resolve('timeout');
    }, waitMs);
    s.on('data', (d) => {
      clearTimeout(t);
      s.destroy();
      resolve(`echo:${d}`);
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve('closed');
    });
    s.on('error', () => {});
  });
}

describe('chaos proxy', () => {
  let echo: Server;
  let net: Network;
  let proxyPort = 0;
  before(async () => {
    echo = createServer((s) => {
      s.on('error', () => {});
      s.pipe(s);
    });
    await new Promise<void>((r) => echo.listen(0, '127.0.0.1', () => r()));
    const addr = echo.address();
    net = new Network();
    // The proxy stands in front of "node 2"; the pinger plays node 1.
    proxyPort = (await net.addProxy(2, typeof addr === 'object' && addr ? addr.port : 0)).port;
  });
  after(async () => {
    await net.close();
    await new Promise<void>((r) => echo.close(() => r()));
  });

  it('forwards traffic and knows which node opened each connection', async () => {
    assert.equal(await pingAs(net, 1, proxyPort, 10_000), 'echo:ping');
    assert.equal(await pingHere(proxyPort, 10_000), 'echo:ping');
    assert.equal(net.connections.get('1>2'), 1);
    assert.equal(net.connections.get(`${EXTERNAL}>2`), 1);
    assert.equal(net.unknownSources, 0);
    assert.equal(net.nodeToNodeConnections(), 1);
  });

  it('drops connections across a partition while others still pass', async () => {
    net.partition([1], [2], 'drop');
    assert.equal(await pingAs(net, 1, proxyPort, 10_000), 'closed');
    assert.equal(await pingHere(proxyPort, 10_000), 'echo:ping', 'an external client is not cut');
    net.heal();
    assert.equal(await pingAs(net, 1, proxyPort, 10_000), 'echo:ping');
  });

  it('blackholes: the peer hears nothing, and healing resets the silent connection', async () => {
    net.partition([1], [2], 'blackhole');
    assert.equal(await pingAs(net, 1, proxyPort, 1500), 'timeout');
    // An open connection from this process goes silent when cut, and is reset on heal.
    const s = createConnection({ port: proxyPort, host: '127.0.0.1' });
    s.on('error', () => {});
    const replies: string[] = [];
    s.on('data', (d) => replies.push(d.toString()));
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write('a');
    const deadline = Date.now() + 10_000;
    while (replies.join('') !== 'a' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(replies.join(''), 'a');
    net.partition([EXTERNAL], [2], 'blackhole');
    s.write('b');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(replies.join(''), 'a', 'nothing comes back through a blackhole');
    net.heal();
    await closed;
    assert.equal(await pingAs(net, 1, proxyPort, 10_000), 'echo:ping');
  });
});
