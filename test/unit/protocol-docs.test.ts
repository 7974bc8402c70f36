/**
 * docs/protocol.md stays true: its hex examples are what the encoder writes (and what an
 * independent MessagePack implementation reads as the example), and every wire error code,
 * close code and close reason of the edge is documented.
 */
import { readFileSync } from 'node:fs';
import { decode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { CLOSE, CLOSE_REASON } from '../../protocol/close-codes.ts';
import { encodeFrame } from '../../protocol/codec.ts';
import { EXAMPLES, exampleHex } from '../../protocol/examples.ts';
import { WIRE_ERROR_CODES } from '../../protocol/server-frames.ts';

const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

function documentedHex(name: string): string | null {
  const m = new RegExp(`<!-- example: ${name} -->\\n\`\`\`text\\n([0-9a-f \\n]+?)\\n\`\`\``).exec(doc);
  return m ? (m[1] as string) : null;
}

describe('docs/protocol.md', () => {
  it('shows, for every example frame, the bytes the encoder writes', () => {
    for (const name of Object.keys(EXAMPLES)) expect(documentedHex(name), name).toBe(exampleHex(name));
  });

  it('hex that another MessagePack implementation decodes to the example', () => {
    for (const [name, frame] of Object.entries(EXAMPLES)) {
      const bytes = Uint8Array.from((documentedHex(name) ?? '').split(/\s+/).map((h) => parseInt(h, 16)));
      expect(decode(bytes), name).toEqual(frame);
    }
  });

  it('writes wide integers as int64, never float64', () => {
    const bytes = encodeFrame({ t: 'hello', serverTime: 1_700_000_000_000 });
    expect(bytes.includes(0xd3)).toBe(true);
    expect(bytes.includes(0xcb)).toBe(false);
  });

  it('documents every wire error code, close code and close reason', () => {
    for (const code of WIRE_ERROR_CODES) expect(doc).toContain(`\`${code}\``);
    for (const code of Object.values(CLOSE)) expect(doc).toContain(`| ${code} |`);
    for (const reason of Object.values(CLOSE_REASON)) expect(doc).toContain(`\`${reason}\``);
  });
});
