// The checker, after Jepsen's Kafka checker: it compares what producers were told (acknowledged
// writes with their offsets), what consumers saw while faults ran, and the final logs of every
// replica once the cluster healed.
//
// Values are "<writer>:<seq>", sequence numbers increasing per writer, so order and duplicates
// can be told from the values alone.

export interface Write {
  topic: string;
  partition: number;
  /** Offset the broker acknowledged; -1 when unknown (a duplicate the broker recognised). */
  offset: number;
  value: string;
}

export interface LogRecord {
  offset: number;
  value: string;
  /** The writer's producer id and epoch (from a replica's batch headers), when known. */
  producer?: string;
}

/** One partition's committed log (from the cluster) and each replica's local copy. */
export interface PartitionLogs {
  topic: string;
  partition: number;
  /** The log as clients read it after healing, up to the high watermark. */
  committed: LogRecord[];
  /** node id -> that replica's local log (from its data dir), when collected. */
  replicas?: Map<number, LogRecord[]>;
}

export interface CheckResult {
  /** Acknowledged writes missing from the final log: must be 0. */
  lost: number;
  /** Acknowledged writes present, but not at the acknowledged offset: must be 0. */
  misplaced: number;
  /** Pairs of writes of one writer to one partition whose log order contradicts send order: must be 0. */
  reordered: number;
  /** Extra copies of a value in a log (retries without idempotence). */
  duplicates: number;
  /**
   * Of those, copies written under a different producer id or epoch than the first: a client
   * that bumped its epoch and re-sent (the broker dedupes only within an epoch, as Kafka's).
   */
  duplicatesAcrossEpochs: number;
  /** Values in a log no writer ever sent: must be 0. */
  unexpected: number;
  /** Offsets that repeat or go backwards in a committed log: must be 0. */
  offsetAnomalies: number;
  /** Consumed records that are not in the final log at the offset they were read from: must be 0. */
  consumedNotCommitted: number;
  /** Replica records that differ from the committed log at the same offset, or are missing below it: must be 0. */
  divergent: number;
  acknowledged: number;
  attempted: number;
  committedRecords: number;
  consumed: number;
  /** Human-readable examples of each anomaly (a few of each). */
  examples: string[];
}

function parseValue(v: string): { writer: string; seq: number } | null {
  const i = v.lastIndexOf(':');
  if (i < 0) return null;
  const seq = Number(v.slice(i + 1));
  return Number.isSafeInteger(seq) ? { writer: v.slice(0, i), seq } : null;
}

const key = (topic: string, partition: number): string => `${topic}/${partition}`;

export function check(input: {
  attempted: ReadonlySet<string>;
  acknowledged: readonly Write[];
  consumed?: readonly Write[];
  logs: readonly PartitionLogs[];
}): CheckResult {
  const res: CheckResult = {
    lost: 0,
    misplaced: 0,
    reordered: 0,
    duplicates: 0,
    duplicatesAcrossEpochs: 0,
    unexpected: 0,
    offsetAnomalies: 0,
    consumedNotCommitted: 0,
    divergent: 0,
    acknowledged: input.acknowledged.length,
    attempted: input.attempted.size,
    committedRecords: 0,
    consumed: input.consumed?.length ?? 0,
    examples: [],
  };
  const example = (kind: string, text: string): void => {
    if (res.examples.filter((e) => e.startsWith(kind)).length < 5) res.examples.push(`${kind}: ${text}`);
  };

  // Index each committed log: offset -> value, value -> offsets.
  const atOffset = new Map<string, Map<number, string>>();
  const offsetsOf = new Map<string, Map<string, number[]>>();
  for (const log of input.logs) {
    const k = key(log.topic, log.partition);
    const byOffset = new Map<number, string>();
    const byValue = new Map<string, number[]>();
    let prev = -1;
    for (const r of log.committed) {
      res.committedRecords++;
      if (r.offset <= prev) {
        res.offsetAnomalies++;
        example('offset', `${k} offset ${r.offset} after ${prev}`);
      }
      prev = r.offset;
      byOffset.set(r.offset, r.value);
      const list = byValue.get(r.value);
      if (list) list.push(r.offset);
      else byValue.set(r.value, [r.offset]);
      if (!input.attempted.has(r.value)) {
        res.unexpected++;
        example('unexpected', `${k}@${r.offset} ${JSON.stringify(r.value.slice(0, 60))}`);
      }
    }
    // Producer of each offset, from any replica (they agree on committed offsets).
    const producerAt = new Map<number, string>();
    for (const records of log.replicas?.values() ?? [])
      for (const r of records)
        if (r.producer !== undefined && !producerAt.has(r.offset)) producerAt.set(r.offset, r.producer);
    for (const [v, offs] of byValue) {
      if (offs.length > 1) {
        res.duplicates += offs.length - 1;
        const first = producerAt.get(offs[0] as number);
        const across = offs
          .slice(1)
          .filter((o) => first !== undefined && producerAt.get(o) !== undefined && producerAt.get(o) !== first).length;
        res.duplicatesAcrossEpochs += across;
        const who = offs.map((o) => producerAt.get(o) ?? '?').join(',');
        example('duplicate', `${k} ${v} at ${offs.join(',')} (producer id/epoch ${who})`);
      }
    }
    atOffset.set(k, byOffset);
    offsetsOf.set(k, byValue);

    // Send order within a partition: the first copies of one writer's values appear in
    // increasing sequence order.
    const lastSeq = new Map<string, number>();
    const seen = new Set<string>();
    for (const r of log.committed) {
      if (seen.has(r.value)) continue;
      seen.add(r.value);
      const p = parseValue(r.value);
      if (!p) continue;
      const last = lastSeq.get(p.writer);
      if (last !== undefined && p.seq < last) {
        res.reordered++;
        example('reordered', `${k}@${r.offset} ${r.value} after ${p.writer}:${last}`);
      }
      lastSeq.set(p.writer, Math.max(last ?? -1, p.seq));
    }

    // Every replica holds the committed log: same value at every committed offset.
    for (const [node, records] of log.replicas ?? []) {
      const mine = new Map<number, string>();
      for (const r of records) mine.set(r.offset, r.value);
      for (const r of log.committed) {
        const v = mine.get(r.offset);
        if (v !== r.value) {
          res.divergent++;
          example(
            'divergent',
            `${k}@${r.offset} node ${node} has ${v === undefined ? 'nothing' : v}, committed ${r.value}`,
          );
        }
      }
    }
  }

  for (const w of input.acknowledged) {
    const k = key(w.topic, w.partition);
    const offs = offsetsOf.get(k)?.get(w.value);
    if (!offs) {
      res.lost++;
      example('lost', `${k}@${w.offset} ${w.value}`);
    } else if (w.offset >= 0 && !offs.includes(w.offset)) {
      res.misplaced++;
      example('misplaced', `${k} ${w.value} acknowledged at ${w.offset}, found at ${offs.join(',')}`);
    }
  }

  // Acknowledged offsets follow send order per writer and partition.
  const ackedByWriter = new Map<string, { seq: number; offset: number }[]>();
  for (const w of input.acknowledged) {
    const p = parseValue(w.value);
    if (!p || w.offset < 0) continue;
    const k = `${key(w.topic, w.partition)}/${p.writer}`;
    const list = ackedByWriter.get(k) ?? [];
    list.push({ seq: p.seq, offset: w.offset });
    ackedByWriter.set(k, list);
  }
  for (const [k, list] of ackedByWriter) {
    list.sort((a, b) => a.seq - b.seq);
    for (let i = 1; i < list.length; i++) {
      if ((list[i]?.offset ?? 0) <= (list[i - 1]?.offset ?? 0)) {
        res.reordered++;
        example('reordered', `${k} seq ${list[i]?.seq} acknowledged at ${list[i]?.offset} <= ${list[i - 1]?.offset}`);
      }
    }
  }

  for (const c of input.consumed ?? []) {
    const v = atOffset.get(key(c.topic, c.partition))?.get(c.offset);
    if (v !== c.value) {
      res.consumedNotCommitted++;
      example('consumed', `${key(c.topic, c.partition)}@${c.offset} read ${c.value}, final log has ${v ?? 'nothing'}`);
    }
  }
  return res;
}

/** The anomalies that must never happen; duplicates are judged by the caller (idempotence). */
export function violations(r: CheckResult, idempotent: boolean): string[] {
  const out: string[] = [];
  if (r.lost) out.push(`${r.lost} lost acknowledged writes`);
  if (r.misplaced) out.push(`${r.misplaced} acknowledged writes at another offset`);
  if (r.reordered) out.push(`${r.reordered} reordered writes`);
  if (r.unexpected) out.push(`${r.unexpected} values never sent`);
  if (r.offsetAnomalies) out.push(`${r.offsetAnomalies} offset anomalies`);
  if (r.consumedNotCommitted) out.push(`${r.consumedNotCommitted} consumed records not in the final log`);
  if (r.divergent) out.push(`${r.divergent} divergent replica records`);
  // An idempotent producer's broker-side dedupe works within a producer epoch; duplicates
  // under one id and epoch are the broker's fault.
  const sameEpoch = r.duplicates - r.duplicatesAcrossEpochs;
  if (idempotent && sameEpoch) out.push(`${sameEpoch} duplicates with idempotence (same producer epoch)`);
  return out;
}
