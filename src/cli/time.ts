// Parsing of the times the CLI accepts: absolute timestamps and ISO-8601 durations.
import { UsageError } from './output.js';

/** Milliseconds since the epoch from an ISO-8601 datetime or a number of ms. */
export function parseTimestamp(v: string, option: string): number {
  if (/^-?\d+$/.test(v.trim())) return Number(v);
  const ms = Date.parse(v);
  if (Number.isNaN(ms))
    throw new UsageError(`${option} expects an ISO-8601 datetime (2024-05-01T12:00:00Z) or epoch ms, got ${v}`);
  return ms;
}

/**
 * Milliseconds in an ISO-8601 duration such as PT1H, P1D, P1DT2H30M or PT0.5S. Years and
 * months have no fixed length, so they are refused (Kafka's tool refuses them too).
 */
export function parseIsoDuration(v: string, option: string): number {
  const m =
    /^(-)?P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(
      v.trim(),
    );
  if (m === null || v.trim().toUpperCase().endsWith('T') || m.slice(2).every((x) => x === undefined))
    throw new UsageError(`${option} expects an ISO-8601 duration like PT1H, P1D or P1DT30M, got ${v}`);
  const n = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const ms = ((((n(2) * 7 + n(3)) * 24 + n(4)) * 60 + n(5)) * 60 + n(6)) * 1000;
  return m[1] ? -ms : ms;
}
