/**
 * One player's socket in a k6 VU (k6/websockets: a VU holds many of these at once), one
 * stream like an SDK instance (`?stream=`, a seq on every event sent). Decodes every server frame, records acks, errors and pongs in the shared metrics and hands
 * hello, ack and offer frames to the caller.
 */
import { WebSocket } from 'k6/websockets';
import { EventStream, readServerFrame, type ClientFrame, type OfferPayload, type WireEvent, batchFrame, pingFrame } from '../../scenarios/index.ts';
import { decodeFrame, encodeFrame } from './codec.ts';
import { playUrl } from './env.ts';
import { ackMs, errFrames, eventErrors, eventsAcked, eventsSent, pongMs, unexpectedCloses, unknownFrames, wsErrors } from './metrics.ts';
import type { PlayerCredentials } from './token.ts';

export interface PlayerHooks {
  onHello?(now: number): void;
  onAck?(ids: string[], now: number): void;
  onOffer?(offer: OfferPayload, now: number): void;
  onClose?(expected: boolean): void;
}

export interface PlayerSocket {
  readonly playerId: string;
  isOpen(): boolean;
  /** Sends events as one frame and remembers their send time until acked. */
  sendEvents(events: WireEvent[]): void;
  ping(): void;
  /** Events sent and not yet acked or refused. */
  inflight(): number;
  close(): void;
}

export function openPlayer(creds: PlayerCredentials, hooks: PlayerHooks = {}): PlayerSocket {
  const stream = new EventStream();
  const ws = new WebSocket(playUrl(creds.token, stream));
  ws.binaryType = 'arraybuffer';
  const sentAt = new Map<string, number>();
  const pings = new Map<number, number>();
  let pingSeq = 0;
  let open = false;
  let closing = false;

  const send = (frame: ClientFrame) => ws.send(encodeFrame(frame));

  ws.onopen = () => {
    open = true;
  };
  ws.onerror = () => {
    wsErrors.add(1);
  };
  ws.onclose = () => {
    open = false;
    if (!closing) unexpectedCloses.add(1);
    hooks.onClose?.(closing);
  };
  ws.onmessage = (e) => {
    const now = Date.now();
    if (!e || !(e.data instanceof ArrayBuffer)) {
      unknownFrames.add(1);
      return;
    }
    const f = readServerFrame(decodeFrame(e.data));
    switch (f.t) {
      case 'hello':
        hooks.onHello?.(now);
        return;
      case 'ack':
        for (const id of f.ids) {
          const t0 = sentAt.get(id);
          if (t0 === undefined) continue;
          sentAt.delete(id);
          ackMs.add(now - t0);
          eventErrors.add(false);
        }
        eventsAcked.add(f.ids.length);
        hooks.onAck?.(f.ids, now);
        return;
      case 'offer':
        hooks.onOffer?.(f.offer, now);
        return;
      case 'pong': {
        const t0 = typeof f.n === 'number' ? pings.get(f.n) : undefined;
        if (t0 !== undefined) {
          pings.delete(f.n as number);
          pongMs.add(now - t0);
        }
        return;
      }
      case 'err':
        errFrames.add(1, { code: f.code });
        if (f.id !== undefined && sentAt.delete(f.id)) eventErrors.add(true);
        return;
      default:
        unknownFrames.add(1);
    }
  };

  return {
    playerId: creds.playerId,
    isOpen: () => open,
    sendEvents(events) {
      if (!open || events.length === 0) return;
      const now = Date.now();
      for (const ev of events) sentAt.set(ev.id, now);
      send(batchFrame(stream.stamp(events)));
      eventsSent.add(events.length);
    },
    ping() {
      if (!open) return;
      pingSeq += 1;
      pings.set(pingSeq, Date.now());
      send(pingFrame(pingSeq));
    },
    inflight: () => sentAt.size,
    close() {
      closing = true;
      if (open) ws.close(1000, 'done');
    },
  };
}
