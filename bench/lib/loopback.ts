// This machine's loopback TCP limits, measured by plain Node processes: a sender writing
// large buffers to a receiver that counts and drops them (throughput), and a client
// bouncing a small message off an echo server (round-trip time). Sender and receiver are
// separate processes, as a load generator and a broker are.
//
// As a process: node dist/bench/lib/loopback.js receive | echo
//               node dist/bench/lib/loopback.js send <port> <durationMs> <chunkBytes>
//               node dist/bench/lib/loopback.js ping <port> <count>
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { checkExit, run, startServer } from './proc.js';
import { percentile } from './stats.js';

const SELF = fileURLToPath(import.meta.url);

function receive(): void {
  const server = net.createServer((s) => {
    let bytes = 0;
    let firstAt = 0;
    s.on('data', (c: Buffer) => {
      if (bytes === 0) firstAt = performance.now();
      bytes += c.length;
    });
    s.on('end', () => {
      s.end(JSON.stringify({ bytes, ms: performance.now() - firstAt }));
    });
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as net.AddressInfo;
    process.stdout.write(`listening on ${a.port}\n`);
  });
}

function echo(): void {
  const server = net.createServer((s) => {
    s.setNoDelay(true);
    s.on('data', (c: Buffer) => s.write(c));
  });
  server.listen(0, '127.0.0.1', () => {
    const a = server.address() as net.AddressInfo;
    process.stdout.write(`listening on ${a.port}\n`);
  });
}

function send(port: number, durationMs: number, chunkBytes: number): void {
  const chunk = Buffer.alloc(chunkBytes, 0x61);
  const s = net.connect(port, '127.0.0.1', () => {
    const deadline = performance.now() + durationMs;
    const pump = (): void => {
      while (performance.now() < deadline) {
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  let reply = '';
  s.setEncoding('utf8').on('data', (d: string) => {
    reply += d;
  });
  s.on('end', () => {
    process.stdout.write(`${reply}\n`);
  });
}

function ping(port: number, count: number): void {
  const s = net.connect(port, '127.0.0.1', () => {
    s.setNoDelay(true);
    const msg = Buffer.alloc(64, 0x62);
    const rtts: number[] = [];
    let sentAt = 0;
    let got = 0;
    const next = (): void => {
      sentAt = performance.now();
      got = 0;
      s.write(msg);
    };
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got < msg.length) return;
      rtts.push((performance.now() - sentAt) * 1000);
      if (rtts.length < count) next();
      else {
        process.stdout.write(`${JSON.stringify(rtts)}\n`);
        s.destroy();
      }
    });
    next();
  });
}

export interface LoopbackLimits {
  /** Bytes per second from one sender process to one receiver process. */
  bytesPerSecond: number;
  /** Round-trip time of a 64-byte message, in microseconds. */
  rttP50Us: number;
  rttP99Us: number;
}

/** Measures throughput for `durationMs` with 1 MiB writes, then `pings` round trips. */
export async function measureLoopback(durationMs = 3000, pings = 5000): Promise<LoopbackLimits> {
  const receiver = await startServer(process.execPath, [SELF, 'receive'], /listening on (\d+)/);
  let bytesPerSecond: number;
  try {
    const r = await run(process.execPath, [SELF, 'send', receiver.match[1] as string, String(durationMs), '1048576'], {
      timeoutMs: durationMs + 30_000,
    });
    checkExit(r, 'loopback sender');
    const { bytes, ms } = JSON.parse(r.stdout.trim()) as { bytes: number; ms: number };
    bytesPerSecond = bytes / (ms / 1000);
  } finally {
    await receiver.stop();
  }
  const echoServer = await startServer(process.execPath, [SELF, 'echo'], /listening on (\d+)/);
  try {
    const r = await run(process.execPath, [SELF, 'ping', echoServer.match[1] as string, String(pings)], {
      timeoutMs: 60_000,
    });
    checkExit(r, 'loopback ping');
    const rtts = (JSON.parse(r.stdout.trim()) as number[]).slice(Math.floor(pings / 10)).sort((a, b) => a - b);
    return { bytesPerSecond, rttP50Us: percentile(rtts, 0.5), rttP99Us: percentile(rtts, 0.99) };
  } finally {
    await echoServer.stop();
  }
}

if (process.argv[1] === SELF) {
  const [role, a, b, c] = process.argv.slice(2);
  if (role === 'receive') receive();
  else if (role === 'echo') echo();
  else if (role === 'send') send(Number(a), Number(b), Number(c));
  else if (role === 'ping') ping(Number(a), Number(b));
  else {
    process.stderr.write('usage: loopback.js receive|echo|send <port> <ms> <chunk>|ping <port> <count>\n');
    process.exitCode = 2;
  }
}
