import type { IHeaders, KafkaMessage, Message } from 'kafkajs';
import type { DurableProducer } from '../lib/kafka.ts';
import { decodeRecords, type EventRecord } from '../protocol/record.ts';
import { errorMessage } from '../lib/errors.ts';
import { MAX_FUTURE_RECV_AT_MS, PLAYER_ID_PATTERN } from '../protocol/limits.ts';

/**
 * Poison events: records processors cannot apply, and applied events whose decision fails
 * on its own every time (`decide_failed`, poison-decision.ts). They go to the dead-letter topic with the
 * original key, value and headers plus `pp-dlq-*` headers saying why and where from; the
 * partition keeps flowing. A dead letter may be written twice when its batch is redelivered
 * (at-least-once), never lost: the offset is committed only after the broker acked it.
 *
 *   pp-dlq-reason     undecodable | bad_player | key_mismatch | apply_failed | decide_failed
 *   pp-dlq-error      the error message (at most 1 KiB)
 *   pp-dlq-topic, pp-dlq-partition, pp-dlq-offset   where the record was read
 *   pp-dlq-event      apply_failed and decide_failed only: the id of the one event of the
 *                     record that failed (a version-2 record holds a frame's events; the
 *                     others were applied and decided)
 *   pp-dlq-at         when it was dead-lettered (ms, wall clock)
 */
export type PoisonReason = 'undecodable' | 'bad_player' | 'key_mismatch' | 'apply_failed' | 'decide_failed';

export interface DeadLetter {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
  readonly reason: PoisonReason;
  readonly error: string;
  /** The failed event's id, when the record was read and one of its events failed. */
  readonly event?: string;
}

export type Decoded =
  | {
      readonly ok: true;
      /** The record's events in order: one for a version-1 record, a frame's for version 2. */
      readonly records: EventRecord[];
      /** The record's own recvAt, when it was too far ahead and replaced by `now`. */
      readonly futureRecvAt?: number;
    }
  | { readonly ok: false; readonly reason: PoisonReason; readonly error: string };

/**
 * Decodes a record of either version and checks it can be applied: a valid player id that
 * matches the key, and a trusted time (trustedTime). `now` is the processing time. Pure. A
 * record is refused or taken whole: its events share the player, key and recvAt.
 */
export function decodeMessage(message: Pick<KafkaMessage, 'key' | 'value'>, now: number): Decoded {
  let records: EventRecord[];
  try {
    records = decodeRecords(message.value);
  } catch (err) {
    return { ok: false, reason: 'undecodable', error: errorMessage(err) };
  }
  const record = records[0] as EventRecord;
  if (!PLAYER_ID_PATTERN.test(record.player)) {
    return { ok: false, reason: 'bad_player', error: `player id ${JSON.stringify(record.player.slice(0, 80))} is not 1-64 chars of [A-Za-z0-9_.:-]` };
  }
  const key = message.key ? message.key.toString('utf8') : null;
  if (key !== record.player) {
    return { ok: false, reason: 'key_mismatch', error: `record key ${JSON.stringify(key)} is not the player id ${JSON.stringify(record.player)}` };
  }
  return trustedTime(records, now);
}

/**
 * The one place where a record's `recvAt` becomes the time of the applied event (player
 * state, windows, and the decider's limits all read it from the record): a `recvAt` more
 * than MAX_FUTURE_RECV_AT_MS ahead of `now` cannot come from a correct edge, and the event
 * is applied at `now` instead. A `recvAt` far in the past is kept: lag, a processor catching
 * up after an outage, and replays of the retained topic all legitimately apply old events,
 * and an old time cannot move a player's clock backwards (the apply script takes the later
 * of it and last_seen) nor stretch a window into the future.
 */
function trustedTime(records: EventRecord[], now: number): Decoded {
  const recvAt = (records[0] as EventRecord).recvAt;
  if (recvAt <= now + MAX_FUTURE_RECV_AT_MS) return { ok: true, records };
  return { ok: true, records: records.map((r) => ({ ...r, recvAt: now })), futureRecvAt: recvAt };
}

export function deadLetterMessage(letter: DeadLetter, now: number): Message {
  const headers: IHeaders = { ...(letter.message.headers ?? {}) };
  headers['pp-dlq-reason'] = letter.reason;
  headers['pp-dlq-error'] = letter.error.length > 1024 ? `${letter.error.slice(0, 1021)}...` : letter.error;
  headers['pp-dlq-topic'] = letter.topic;
  headers['pp-dlq-partition'] = String(letter.partition);
  headers['pp-dlq-offset'] = letter.message.offset;
  if (letter.event !== undefined) headers['pp-dlq-event'] = letter.event;
  headers['pp-dlq-at'] = String(now);
  return { key: letter.message.key, value: letter.message.value, headers };
}

/** Writes dead letters durably (acks from all in-sync replicas); throws when Kafka does not take them. */
export async function sendDeadLetters(producer: Pick<DurableProducer, 'send'>, topic: string, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const now = Date.now();
  await producer.send({ topic, acks: -1, messages: letters.map((l) => deadLetterMessage(l, now)) });
}
