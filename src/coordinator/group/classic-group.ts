// A classic (JoinGroup/SyncGroup) consumer group: members, generation, protocol, state.
// Pure data and helpers; the coordinator drives the transitions.
import { EMPTY_BUFFER } from '../../protocol/codec-runtime.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable' | 'Dead';

/** Which states may move to which (Kafka's classic group state machine). */
const VALID_PREVIOUS: Record<GroupState, readonly GroupState[]> = {
  Empty: ['PreparingRebalance'],
  PreparingRebalance: ['Stable', 'CompletingRebalance', 'Empty'],
  CompletingRebalance: ['PreparingRebalance'],
  Stable: ['CompletingRebalance'],
  Dead: ['Stable', 'PreparingRebalance', 'CompletingRebalance', 'Empty', 'Dead'],
};

export interface JoinResult {
  errorCode: number;
  generationId: number;
  protocolType: string | null;
  protocolName: string | null;
  leader: string;
  memberId: string;
  skipAssignment: boolean;
  members: { memberId: string; groupInstanceId: string | null; metadata: Buffer }[];
}

export interface SyncResult {
  errorCode: number;
  protocolType: string | null;
  protocolName: string | null;
  assignment: Buffer;
}

export interface Protocol {
  name: string;
  metadata: Buffer;
}

export interface TimerHandle {
  cancel(): void;
}

export class ClassicMember {
  assignment: Buffer = EMPTY_BUFFER;
  awaitingJoin: ((r: JoinResult) => void) | null = null;
  awaitingSync: ((r: SyncResult) => void) | null = null;
  heartbeatTimer: TimerHandle | null = null;
  /** JoinGroup API version of the member's latest join (v9+ understands skipAssignment). */
  joinVersion = 0;

  constructor(
    public memberId: string,
    readonly groupInstanceId: string | null,
    public clientId: string,
    public clientHost: string,
    public rebalanceTimeoutMs: number,
    public sessionTimeoutMs: number,
    public protocolType: string,
    public protocols: Protocol[],
  ) {}

  metadataFor(protocol: string): Buffer {
    return this.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY_BUFFER;
  }

  sameProtocols(protocols: Protocol[]): boolean {
    if (protocols.length !== this.protocols.length) return false;
    return protocols.every((p, i) => {
      const mine = this.protocols[i];
      return mine !== undefined && mine.name === p.name && mine.metadata.equals(p.metadata);
    });
  }
}

export interface CommittedOffset {
  topic: string;
  partition: number;
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestampMs: number;
}

export function offsetKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}

export class ClassicGroup {
  state: GroupState = 'Empty';
  generationId = 0;
  protocolType: string | null = null;
  protocolName: string | null = null;
  leaderId: string | null = null;
  /** Members in join order. */
  readonly members = new Map<string, ClassicMember>();
  /** group.instance.id -> member id. */
  readonly staticMembers = new Map<string, string>();
  /** Member ids handed out with MEMBER_ID_REQUIRED, awaiting their second join (KIP-394). */
  readonly pendingMembers = new Map<string, TimerHandle>();
  /** Members that have not sent SyncGroup in this generation. */
  readonly pendingSyncMembers = new Set<string>();
  readonly offsets = new Map<string, CommittedOffset>();
  currentStateTimestampMs: number;
  /** The rebalance timer (join or sync phase). */
  rebalanceTimer: TimerHandle | null = null;
  /** A member joined during an initial rebalance delay (extends the delay). */
  newMemberAdded = false;

  constructor(
    readonly groupId: string,
    nowMs: number,
  ) {
    this.currentStateTimestampMs = nowMs;
  }

  transitionTo(next: GroupState, nowMs: number): void {
    if (!VALID_PREVIOUS[next].includes(this.state)) {
      throw new Error(`group ${this.groupId}: illegal transition ${this.state} -> ${next}`);
    }
    this.state = next;
    this.currentStateTimestampMs = nowMs;
  }

  isLeader(memberId: string): boolean {
    return this.leaderId === memberId;
  }

  /** The largest rebalance timeout among members bounds each rebalance phase. */
  rebalanceTimeoutMs(): number {
    let max = 0;
    for (const m of this.members.values()) max = Math.max(max, m.rebalanceTimeoutMs);
    return max;
  }

  allMembersJoined(): boolean {
    if (this.pendingMembers.size > 0) return false;
    for (const m of this.members.values()) if (m.awaitingJoin === null) return false;
    return true;
  }

  /** Protocols every member supports, in the order of the first member's preference. */
  candidateProtocols(): string[] {
    const all = [...this.members.values()];
    const first = all[0];
    if (!first) return [];
    return first.protocols
      .map((p) => p.name)
      .filter((name) => all.every((m) => m.protocols.some((p) => p.name === name)));
  }

  /** Whether a joining member's protocol type and protocols fit this group. */
  supportsProtocols(protocolType: string, names: string[]): boolean {
    if (this.members.size === 0) return protocolType !== '' && names.length > 0;
    if (protocolType !== this.protocolType) return false;
    const candidates = new Set(this.candidateProtocols());
    return names.some((n) => candidates.has(n));
  }

  /** Each member votes for its most preferred candidate; the most votes wins. */
  selectProtocol(): string {
    const candidates = this.candidateProtocols();
    if (candidates.length === 0) throw new Error(`group ${this.groupId}: no protocol supported by all members`);
    const votes = new Map<string, number>();
    for (const m of this.members.values()) {
      const choice = m.protocols.find((p) => candidates.includes(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = candidates[0] as string;
    for (const c of candidates) if ((votes.get(c) ?? 0) > (votes.get(best) ?? 0)) best = c;
    return best;
  }
}
