/**
 * One load client's event stream, as the SDK keeps it (docs/protocol.md, "Resends and
 * de-duplication"): a stream id named on the upgrade (`?stream=`) and a `seq` given to each
 * event when it is first sent, kept if the same event object is sent again. With it, the
 * processors de-duplicate load traffic by seq like real clients' traffic. Plain TypeScript:
 * no Node and no k6 imports.
 */
import type { ClientFrame } from './frames.ts';
import type { WireEvent } from './events.ts';

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** 16 base64url characters from `random` (Math.random in k6, any PRNG in tests). */
export function randomStreamId(random: () => number = Math.random): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += BASE64URL[Math.floor(random() * 64) & 63];
  return out;
}

export class EventStream {
  private next = 1;

  constructor(readonly id: string = randomStreamId()) {}

  /** The query parameter of the upgrade URL, to append after `?` or `&`. */
  get query(): string {
    return `stream=${encodeURIComponent(this.id)}`;
  }

  /** Gives every event without a seq the next one, in order (events that have one keep it); returns them. */
  stamp<E extends WireEvent>(events: E[]): E[] {
    for (const e of events) if (e.seq === undefined) e.seq = this.next++;
    return events;
  }

  /** Stamps the events of an `ev` or `evs` frame; a `ping` passes unchanged. */
  stampFrame(frame: ClientFrame): ClientFrame {
    if (frame.t === 'evs') this.stamp(frame.events);
    else if (frame.t === 'ev' && frame.seq === undefined) frame.seq = this.next++;
    return frame;
  }
}
