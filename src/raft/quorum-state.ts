// The quorum-state file: the epoch, the leader and the vote a node must never forget. Written
// (and fsynced) before a vote or an epoch change takes effect, so a restarted node can neither
// vote twice in an epoch nor go back to an older epoch. The JSON has the shape of Kafka's
// quorum-state file (data_version 0).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDirSync } from '../storage/checkpoint-file.js';
import { NO_ID } from './types.js';

export const QUORUM_STATE_FILE = 'quorum-state';

export interface ElectionState {
  epoch: number;
  /** Leader of `epoch`, or -1 when unknown. */
  leaderId: number;
  /** Whom this node voted for in `epoch`, or -1. */
  votedId: number;
}

export const INITIAL_ELECTION_STATE: Readonly<ElectionState> = Object.freeze({
  epoch: 0,
  leaderId: NO_ID,
  votedId: NO_ID,
});

/** Durable storage of the election state; write() returns only once the state is durable. */
export interface QuorumStateStore {
  read(): ElectionState | null;
  write(state: ElectionState): void;
}

export class QuorumStateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QuorumStateError';
  }
}

interface QuorumStateJson {
  clusterId: string;
  leaderId: number;
  leaderEpoch: number;
  votedId: number;
  appliedOffset: number;
  currentVoters: { voterId: number }[] | null;
  data_version: number;
}

function isInt32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= -1 && v <= 0x7fffffff;
}

/** Parses the file's JSON; throws QuorumStateError when it is not a quorum state. */
export function parseQuorumState(text: string): ElectionState {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new QuorumStateError(`quorum-state is not JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null) throw new QuorumStateError('quorum-state is not a JSON object');
  const o = json as Record<string, unknown>;
  const epoch = o['leaderEpoch'];
  const leaderId = o['leaderId'] ?? NO_ID;
  const votedId = o['votedId'] ?? NO_ID;
  if (!isInt32(epoch) || epoch < 0) throw new QuorumStateError(`quorum-state has an invalid leaderEpoch`);
  if (!isInt32(leaderId)) throw new QuorumStateError(`quorum-state has an invalid leaderId`);
  if (!isInt32(votedId)) throw new QuorumStateError(`quorum-state has an invalid votedId`);
  return { epoch, leaderId, votedId };
}

export function formatQuorumState(state: ElectionState, clusterId: string, voters: readonly number[]): string {
  const json: QuorumStateJson = {
    clusterId,
    leaderId: state.leaderId,
    leaderEpoch: state.epoch,
    votedId: state.votedId,
    appliedOffset: 0,
    currentVoters: voters.map((voterId) => ({ voterId })),
    data_version: 0,
  };
  return JSON.stringify(json);
}

/** The quorum-state file in a directory: write to a temp file, fsync, rename, fsync the directory. */
export class FileQuorumStateStore implements QuorumStateStore {
  readonly file: string;

  constructor(
    readonly dir: string,
    private readonly clusterId: string,
    private readonly voters: readonly number[],
  ) {
    this.file = path.join(dir, QUORUM_STATE_FILE);
  }

  read(): ElectionState | null {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    // A damaged file must stop the node: guessing an older epoch could mean voting twice.
    return parseQuorumState(text);
  }

  write(state: ElectionState): void {
    const tmp = `${this.file}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, formatQuorumState(state, this.clusterId, this.voters));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
    fsyncDirSync(this.dir);
  }
}

/** For tests and simulations: a store that survives the node object (a simulated disk). */
export class MemoryQuorumStateStore implements QuorumStateStore {
  state: ElectionState | null = null;
  writes = 0;

  read(): ElectionState | null {
    return this.state === null ? null : { ...this.state };
  }

  write(state: ElectionState): void {
    this.state = { ...state };
    this.writes++;
  }
}
