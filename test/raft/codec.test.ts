// The Raft messages survive the trip through Kafka's wire format at the versions Eddy sends,
// the pre-vote flag included; and the quorum settings parse from Kafka's keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Reader } from '../../src/protocol/codec.js';
import { ApiKey, type ApiMessages } from '../../src/protocol/generated/apis.js';
import {
  decodeRequestBody,
  decodeRequestHeader,
  decodeResponseBody,
  decodeResponseHeader,
  encodeRequestFrame,
  encodeResponseFrame,
} from '../../src/protocol/messages.js';
import {
  beginQuorumEpochRequestFromWire,
  beginQuorumEpochRequestToWire,
  endQuorumEpochRequestFromWire,
  endQuorumEpochRequestToWire,
  fetchRequestFromWire,
  fetchRequestToWire,
  fetchResponseFromWire,
  fetchResponseToWire,
  fetchSnapshotRequestFromWire,
  fetchSnapshotRequestToWire,
  fetchSnapshotResponseFromWire,
  fetchSnapshotResponseToWire,
  isRaftFetch,
  RAFT_REQUEST_VERSIONS,
  voteRequestFromWire,
  voteRequestToWire,
  voteResponseFromWire,
  voteResponseToWire,
} from '../../src/raft/codec.js';
import {
  parseBootstrapServers,
  parseQuorumVoters,
  QuorumConfigError,
  quorumConfigFrom,
} from '../../src/raft/config.js';
import type { FetchResponse, FetchSnapshotResponse, VoteRequest } from '../../src/raft/types.js';

function viaWire<K extends keyof ApiMessages>(
  apiKey: K,
  version: number,
  body: ApiMessages[K]['requestInit'],
): ApiMessages[K]['request'] {
  const frame = Buffer.concat(
    encodeRequestFrame({ apiKey, apiVersion: version, correlationId: 9, clientId: 'c', body }),
  );
  const r = new Reader(frame.subarray(4));
  decodeRequestHeader(r);
  return decodeRequestBody(apiKey, version, r);
}

function responseViaWire<K extends keyof ApiMessages>(
  apiKey: K,
  version: number,
  body: ApiMessages[K]['responseInit'],
): ApiMessages[K]['response'] {
  const frame = Buffer.concat(encodeResponseFrame(apiKey, version, 9, body));
  const r = new Reader(frame.subarray(4));
  decodeResponseHeader(r, apiKey, version);
  return decodeResponseBody(apiKey, version, r);
}

describe('raft wire codec', () => {
  it('carries Vote and the pre-vote flag', () => {
    for (const preVote of [true, false]) {
      const req: VoteRequest = {
        type: 'vote',
        clusterId: 'c1',
        candidateId: 3,
        candidateEpoch: 12,
        lastOffsetEpoch: 11,
        lastOffset: 4567,
        preVote,
        voterId: 2,
      };
      const wire = viaWire(ApiKey.Vote, RAFT_REQUEST_VERSIONS.vote, voteRequestToWire(req));
      assert.deepEqual(voteRequestFromWire(wire), req);
    }
    const res = { type: 'vote' as const, errorCode: 0, leaderId: 1, leaderEpoch: 12, voteGranted: true };
    const wire = responseViaWire(
      ApiKey.Vote,
      1,
      voteResponseToWire(res, () => ({ host: 'h', port: 1 })),
    );
    assert.deepEqual(voteResponseFromWire(wire), res);
    assert.deepEqual(
      wire.nodeEndpoints.map((e) => [e.nodeId, e.host, e.port]),
      [[1, 'h', 1]],
    );
  });

  it('carries BeginQuorumEpoch and EndQuorumEpoch with the preferred successors', () => {
    const begin = { type: 'beginQuorumEpoch' as const, clusterId: null, leaderId: 4, leaderEpoch: 9, voterId: 5 };
    assert.deepEqual(
      beginQuorumEpochRequestFromWire(viaWire(ApiKey.BeginQuorumEpoch, 1, beginQuorumEpochRequestToWire(begin))),
      begin,
    );
    const end = {
      type: 'endQuorumEpoch' as const,
      clusterId: 'x',
      leaderId: 4,
      leaderEpoch: 9,
      preferredSuccessors: [2, 1],
    };
    for (const v of [0, 1]) {
      assert.deepEqual(
        endQuorumEpochRequestFromWire(viaWire(ApiKey.EndQuorumEpoch, v, endQuorumEpochRequestToWire(end, v)), v),
        end,
      );
    }
  });

  it('carries Fetch with divergence, snapshot id and records', () => {
    const req = {
      type: 'fetch' as const,
      clusterId: 'c',
      replicaId: 7,
      currentLeaderEpoch: 3,
      fetchOffset: 100,
      lastFetchedEpoch: 2,
      maxWaitMs: 500,
      maxBytes: 1 << 20,
    };
    const wireReq = viaWire(ApiKey.Fetch, RAFT_REQUEST_VERSIONS.fetch, fetchRequestToWire(req));
    assert.ok(isRaftFetch(wireReq));
    assert.deepEqual(fetchRequestFromWire(wireReq, RAFT_REQUEST_VERSIONS.fetch), req);
    const base: FetchResponse<Buffer> = {
      type: 'fetch',
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 3,
      highWatermark: 90,
      logStartOffset: 10,
      divergingEpoch: null,
      snapshotId: null,
      records: null,
    };
    for (const res of [
      base,
      { ...base, divergingEpoch: { epoch: 2, endOffset: 80 } },
      { ...base, snapshotId: { endOffset: 50, epoch: 1 } },
      { ...base, records: Buffer.from('opaque batches') },
    ]) {
      const wire = responseViaWire(ApiKey.Fetch, 17, fetchResponseToWire(res));
      assert.deepEqual(fetchResponseFromWire(wire), res);
    }
  });

  it('carries FetchSnapshot chunks', () => {
    const req = {
      type: 'fetchSnapshot' as const,
      clusterId: null,
      replicaId: 2,
      currentLeaderEpoch: 5,
      snapshotId: { endOffset: 1000, epoch: 4 },
      position: 4096,
      maxBytes: 8192,
    };
    assert.deepEqual(
      fetchSnapshotRequestFromWire(viaWire(ApiKey.FetchSnapshot, 1, fetchSnapshotRequestToWire(req))),
      req,
    );
    const res: FetchSnapshotResponse = {
      type: 'fetchSnapshot',
      errorCode: 0,
      leaderId: 1,
      leaderEpoch: 5,
      snapshotId: { endOffset: 1000, epoch: 4 },
      sizeBytes: 10_000,
      position: 4096,
      bytes: Buffer.from('chunk'),
    };
    assert.deepEqual(
      fetchSnapshotResponseFromWire(responseViaWire(ApiKey.FetchSnapshot, 1, fetchSnapshotResponseToWire(res))),
      res,
    );
  });
});

describe('quorum configuration', () => {
  it('parses controller.quorum.voters and bootstrap servers', () => {
    assert.deepEqual(
      [...parseQuorumVoters('1@localhost:9093, 2@[::1]:9094,3@10.0.0.3:9095')],
      [
        [1, { host: 'localhost', port: 9093 }],
        [2, { host: '::1', port: 9094 }],
        [3, { host: '10.0.0.3', port: 9095 }],
      ],
    );
    assert.deepEqual(parseBootstrapServers('a:1,b:2'), [
      { host: 'a', port: 1 },
      { host: 'b', port: 2 },
    ]);
    assert.throws(() => parseQuorumVoters('1@host'), QuorumConfigError);
    assert.throws(() => parseQuorumVoters('x@host:1'), QuorumConfigError);
    assert.throws(() => parseQuorumVoters('1@a:1,1@b:2'), /listed twice/);
  });

  it('reads roles and timeouts from Kafka keys and checks they agree', () => {
    const props = new Map<string, string>([
      ['node.id', '2'],
      ['process.roles', 'broker,controller'],
      ['controller.quorum.voters', '1@h:1,2@h:2,3@h:3'],
      ['controller.quorum.election.timeout.ms', '300'],
      ['controller.quorum.fetch.timeout.ms', '900'],
    ]);
    const c = quorumConfigFrom((k) => props.get(k) ?? null);
    assert.equal(c.nodeId, 2);
    assert.deepEqual([...c.roles].sort(), ['broker', 'controller']);
    assert.equal(c.voters.size, 3);
    assert.equal(c.raft.electionTimeoutMs, 300);
    assert.equal(c.raft.fetchTimeoutMs, 900);
    assert.equal(c.raft.requestTimeoutMs, 2000, 'Kafka default');
    assert.equal(c.raft.appendLingerMs, 25, 'Kafka default');
    props.set('process.roles', 'broker');
    assert.throws(() => quorumConfigFrom((k) => props.get(k) ?? null), /lacks the controller role/);
    props.set('node.id', '9');
    assert.equal(
      quorumConfigFrom((k) => props.get(k) ?? null).roles.has('controller'),
      false,
      'a broker-only observer',
    );
    props.set('process.roles', 'controller');
    assert.throws(() => quorumConfigFrom((k) => props.get(k) ?? null), /not in controller.quorum.voters/);
  });
});
