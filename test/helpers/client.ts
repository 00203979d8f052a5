// Shared helpers for client tests.
import { execFile } from 'node:child_process';
import { Consumer, type ConsumerOptions } from '../../src/client/consumer/consumer.js';
import type { Message } from '../../src/client/consumer/decode.js';

let counter = 0;
export function uniqueName(prefix: string): string {
  counter++;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`;
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export interface ConsumedMessage extends Message {
  topic: string;
  partition: number;
}

/**
 * Reads `count` messages from every partition of `topic` (standalone assign, from the
 * beginning) and returns them in arrival order.
 */
export async function readAll(
  bootstrap: string,
  topic: string,
  partitions: number,
  count: number,
  opts: Partial<ConsumerOptions> = {},
  timeoutMs = 15_000,
): Promise<ConsumedMessage[]> {
  const consumer = new Consumer({ bootstrapServers: bootstrap, logger: null, fetchMaxWaitMs: 100, ...opts });
  try {
    consumer.assign(
      Array.from({ length: partitions }, (_, partition) => ({ topic, partition, offset: 'earliest' as const })),
    );
    const out: ConsumedMessage[] = [];
    const deadline = Date.now() + timeoutMs;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      while (out.length < count) {
        if (Date.now() > deadline) throw new Error(`read ${out.length} of ${count} messages from ${topic}`);
        const batch = await consumer.poll(abort.signal);
        if (batch === null) break;
        for (const m of batch.messages) out.push({ ...m, topic: batch.topic, partition: batch.partition });
      }
    } finally {
      clearTimeout(timer);
    }
    return out;
  } finally {
    await consumer.close();
  }
}

/** Runs kcat with arguments and stdin; resolves with stdout. */
export function kcat(args: string[], input?: string, timeoutMs = 15_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('kcat', args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`kcat ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}
