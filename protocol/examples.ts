/**
 * The example frames of docs/protocol.md. The hex dumps there are generated from these by
 * the real encoder (`npx tsx protocol/examples.ts`), and a unit test checks that the
 * document and the encoder still agree.
 */
import { encodeFrame } from './codec.ts';

export const EXAMPLES: Readonly<Record<string, Record<string, unknown>>> = {
  ev: { t: 'ev', id: 'e1', type: 'match.end', ts: 1700000000000, data: { result: 'loss' } },
  evSeq: { t: 'ev', id: 'e4', type: 'level.up', data: { level: 6 }, seq: 42 },
  evs: { t: 'evs', events: [{ id: 'e2', type: 'level.up', data: { level: 5 } }, { id: 'e3', type: 'offer.shown', data: { offerId: 'o1' } }] },
  ping: { t: 'ping', n: 7 },
  hello: { t: 'hello', player: 'p1', session: 's1', serverTime: 1700000000000 },
  helloStream: { t: 'hello', player: 'p1', session: 's1', serverTime: 1700000000000, stream: 'Qm9vdHN0cmFwMDAx' },
  ack: { t: 'ack', ids: ['e1', 'e2'] },
  offer: { t: 'offer', offer: { id: 'o1', ruleId: 'comeback', sku: 'bundle.s', price: { amount: 199, currency: 'USD' }, discountPct: 40, expiresAt: 1700000900000 } },
  pong: { t: 'pong', n: 7 },
  err: { t: 'err', code: 'bad_event', message: 'unknown event type', id: 'e9' },
};

/** Lower-case hex, bytes separated by spaces, 16 per line. */
export function hexDump(bytes: Uint8Array): string {
  const parts = Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += 16) lines.push(parts.slice(i, i + 16).join(' '));
  return lines.join('\n');
}

export function exampleHex(name: string): string {
  const frame = EXAMPLES[name];
  // programmer error: examples are named in code, not by users
  if (!frame) throw new Error(`no example ${name}`);
  return hexDump(encodeFrame(frame));
}

if (process.argv[1]?.endsWith('examples.ts')) {
  for (const name of Object.keys(EXAMPLES)) process.stdout.write(`${name}\n${exampleHex(name)}\n\n`);
}
