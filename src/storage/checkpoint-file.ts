// Kafka's text checkpoint format: a version line, an entry-count line, then one entry per
// line. Written to `<path>.tmp` and renamed over the old file so a reader sees either the old
// or the new content, never a mix.
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export const CHECKPOINT_VERSION = 0;

export class CheckpointFormatError extends Error {
  constructor(file: string, detail: string) {
    super(`malformed checkpoint ${file}: ${detail}`);
    this.name = 'CheckpointFormatError';
  }
}

function render(lines: readonly string[]): string {
  return `${CHECKPOINT_VERSION}\n${lines.length}\n${lines.map((l) => `${l}\n`).join('')}`;
}

/** Parses checkpoint text into entry lines. Throws CheckpointFormatError on any inconsistency. */
export function parseCheckpoint(file: string, text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length < 2) throw new CheckpointFormatError(file, 'missing header');
  if (lines[0] !== String(CHECKPOINT_VERSION)) throw new CheckpointFormatError(file, `unknown version ${lines[0]}`);
  const count = Number(lines[1]);
  if (!Number.isSafeInteger(count) || count < 0 || String(count) !== lines[1]) {
    throw new CheckpointFormatError(file, `bad entry count ${lines[1]}`);
  }
  const entries = lines.slice(2);
  if (entries.length !== count)
    throw new CheckpointFormatError(file, `expected ${count} entries, found ${entries.length}`);
  return entries;
}

/** Reads the entry lines, or null when the file does not exist. */
export function readCheckpointSync(file: string): string[] | null {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return parseCheckpoint(file, text);
}

export function fsyncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp.open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Atomically replaces `file`. With `sync`, the data and the rename are durable on return. */
export function writeCheckpointSync(file: string, lines: readonly string[], sync: boolean): void {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeFileSync(fd, render(lines));
    if (sync) fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (sync) fsyncDirSync(path.dirname(file));
}

export async function writeCheckpoint(file: string, lines: readonly string[], sync: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const h = await fsp.open(tmp, 'w');
  try {
    await h.writeFile(render(lines));
    if (sync) await h.datasync();
  } finally {
    await h.close();
  }
  await fsp.rename(tmp, file);
  if (sync) await fsyncDir(path.dirname(file));
}

/** One `topic partition offset` line per partition, as Kafka's offset checkpoints hold. */
export interface PartitionOffset {
  topic: string;
  partition: number;
  offset: number;
}

export function formatPartitionOffsets(entries: readonly PartitionOffset[]): string[] {
  return entries.map((e) => `${e.topic} ${e.partition} ${e.offset}`);
}

export function parsePartitionOffsets(file: string, lines: readonly string[]): PartitionOffset[] {
  return lines.map((line) => {
    const parts = line.split(' ');
    if (parts.length !== 3) throw new CheckpointFormatError(file, `bad entry "${line}"`);
    const partition = Number(parts[1]);
    const offset = Number(parts[2]);
    if (!Number.isSafeInteger(partition) || partition < 0 || !Number.isSafeInteger(offset)) {
      throw new CheckpointFormatError(file, `bad entry "${line}"`);
    }
    return { topic: parts[0]!, partition, offset };
  });
}
