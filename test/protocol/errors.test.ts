// src/protocol/errors.ts against Kafka's documented error table (protocol guide, Kafka 4.0).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRORS, ErrorCode, errorInfo, errorName, isRetriable, KafkaError } from '../../src/protocol/errors.js';

// Codes whose Java exception extends RetriableException (directly or through
// InvalidMetadataException / RefreshRetriableException): the "True" rows of the guide's table.
const RETRIABLE_IN_KAFKA = new Set([
  2, 3, 5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 51, 56, 70, 71, 72, 74, 75, 78, 80, 83, 84, 88, 89, 100, 103, 106, 122,
  123,
]);

test('a sample of codes has Kafka’s names and retriable flags', () => {
  const sample: [code: number, name: string, retriable: boolean][] = [
    [-1, 'UNKNOWN_SERVER_ERROR', false],
    [0, 'NONE', false],
    [1, 'OFFSET_OUT_OF_RANGE', false],
    [2, 'CORRUPT_MESSAGE', true],
    [3, 'UNKNOWN_TOPIC_OR_PARTITION', true],
    [6, 'NOT_LEADER_OR_FOLLOWER', true],
    [10, 'MESSAGE_TOO_LARGE', false],
    [15, 'COORDINATOR_NOT_AVAILABLE', true],
    [16, 'NOT_COORDINATOR', true],
    [25, 'UNKNOWN_MEMBER_ID', false],
    [27, 'REBALANCE_IN_PROGRESS', false],
    [35, 'UNSUPPORTED_VERSION', false],
    [36, 'TOPIC_ALREADY_EXISTS', false],
    [42, 'INVALID_REQUEST', false],
    [47, 'INVALID_PRODUCER_EPOCH', false],
    [51, 'CONCURRENT_TRANSACTIONS', true],
    [58, 'SASL_AUTHENTICATION_FAILED', false],
    [72, 'LISTENER_NOT_FOUND', true],
    [79, 'MEMBER_ID_REQUIRED', false],
    [89, 'THROTTLING_QUOTA_EXCEEDED', true],
    [90, 'PRODUCER_FENCED', false],
    [100, 'UNKNOWN_TOPIC_ID', true],
    [110, 'FENCED_MEMBER_EPOCH', false],
    [113, 'STALE_MEMBER_EPOCH', false],
    [127, 'VOTER_NOT_FOUND', false],
    [128, 'INVALID_REGULAR_EXPRESSION', false],
    [129, 'REBOOTSTRAP_REQUIRED', false],
  ];
  for (const [code, name, retriable] of sample) {
    assert.equal(errorName(code), name, `code ${code}`);
    assert.equal(isRetriable(code), retriable, `${name} retriable`);
    assert.equal((ErrorCode as Record<string, number>)[name], code, `ErrorCode.${name}`);
  }
});

test('the table is every code from -1 to 129 once, in order, consistent with ErrorCode', () => {
  assert.deepEqual(
    ERRORS.map((e) => e.code),
    Array.from({ length: 131 }, (_, i) => i - 1),
  );
  assert.equal(new Set(ERRORS.map((e) => e.name)).size, ERRORS.length, 'names are unique');
  assert.deepEqual(Object.fromEntries(ERRORS.map((e) => [e.name, e.code])), { ...ErrorCode });
  for (const e of ERRORS) {
    assert.match(e.name, /^[A-Z][A-Z0-9_]*$/);
    if (e.code !== 0) assert.ok(e.message.length > 0, `${e.name} has a message`);
  }
});

test('exactly the codes Kafka marks retriable are retriable', () => {
  const ours = new Set(ERRORS.filter((e) => e.retriable).map((e) => e.code));
  assert.deepEqual(
    [...ours].sort((a, b) => a - b),
    [...RETRIABLE_IN_KAFKA].sort((a, b) => a - b),
  );
});

test('unknown codes are reported as such and are not retriable', () => {
  const info = errorInfo(9999);
  assert.equal(info.name, 'UNKNOWN_ERROR_9999');
  assert.equal(info.retriable, false);
});

test('KafkaError carries code, name and retriable flag', () => {
  const err = new KafkaError(ErrorCode.NOT_COORDINATOR, 'group g');
  assert.equal(err.code, 16);
  assert.equal(err.retriable, true);
  assert.equal(err.message, 'NOT_COORDINATOR: group g');
  assert.ok(err instanceof Error);
  assert.equal(new KafkaError(ErrorCode.UNSUPPORTED_VERSION).retriable, false);
});
