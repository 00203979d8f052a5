// kafkajs as a produce load generator, run as its own process so its event loop is not the
// broker's (or the benchmark driver's). Usage:
//   node dist/bench/lib/kafkajs-load.js '{"bootstrap":"127.0.0.1:9092","topic":"t",...}'
// Prints one JSON line: { records, wallMs }.
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

export interface KafkajsProduceSpec {
  bootstrap: string;
  topic: string;
  recordBytes: number;
  records: number;
  /** Records per producer.send() call (kafkajs makes one batch per partition of them). */
  batchRecords: number;
  /** send() calls kept in flight at once. */
  inFlight: number;
  acks: number;
}

export async function kafkajsProduce(spec: KafkajsProduceSpec): Promise<{ records: number; wallMs: number }> {
  const kafka = new Kafka({ clientId: 'eddy-bench', brokers: [spec.bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const value = Buffer.alloc(spec.recordBytes, 0x6b);
  const batch = Array.from({ length: spec.batchRecords }, () => ({ value }));
  // One warm-up send so metadata and connections are in place before the clock starts.
  await producer.send({ topic: spec.topic, acks: spec.acks, messages: batch.slice(0, 1) });
  const sends = Math.ceil(spec.records / spec.batchRecords);
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    while (next < sends) {
      next++;
      await producer.send({ topic: spec.topic, acks: spec.acks, messages: batch });
    }
  };
  await Promise.all(Array.from({ length: spec.inFlight }, worker));
  const wallMs = performance.now() - started;
  await producer.disconnect();
  return { records: sends * spec.batchRecords, wallMs };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as KafkajsProduceSpec;
  kafkajsProduce(spec).then(
    (r) => process.stdout.write(`${JSON.stringify(r)}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
