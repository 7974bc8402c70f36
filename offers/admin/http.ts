import type { IncomingMessage, ServerResponse } from 'node:http';
import { isPlayPulseError, PlayPulseError, errorMessage } from '../../lib/errors.ts';
import { FORBIDDEN_KEYS } from '../../protocol/limits.ts';

/** Largest request body the admin API reads (a bundle of designer files is far smaller). */
export const MAX_BODY_BYTES = 2 * 1024 * 1024;

/** The error body of every failed request: `{ error: { code, message, details } }`; never a stack trace. */
export function errorBody(err: unknown): { status: number; body: { error: { code: string; message: string; details: Record<string, unknown> } } } {
  if (isPlayPulseError(err)) {
    return { status: err.http, body: { error: { code: err.code, message: err.message, details: err.details ?? {} } } };
  }
  const internal = new PlayPulseError('ADMIN_INTERNAL');
  return { status: internal.http, body: { error: { code: internal.code, message: internal.message, details: {} } } };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  res.end(text);
}

/** Reads the body up to MAX_BODY_BYTES; ADMIN_TOO_LARGE beyond (the rest is not read). */
export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > limit) {
      reject(new PlayPulseError('ADMIN_TOO_LARGE', `the request body is over ${limit} bytes`, { limit }));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PlayPulseError('ADMIN_TOO_LARGE', `the request body is over ${limit} bytes`, { limit }));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => reject(new PlayPulseError('ADMIN_BAD_REQUEST', `the request body could not be read: ${err.message}`)));
  });
}

/** Parses a JSON object body; ADMIN_BAD_REQUEST otherwise. */
export function parseJsonObject(raw: Buffer): Record<string, unknown> {
  if (raw.length === 0) throw new PlayPulseError('ADMIN_BAD_REQUEST', 'the request needs a JSON body');
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new PlayPulseError('ADMIN_BAD_REQUEST', `the body is not valid JSON: ${errorMessage(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new PlayPulseError('ADMIN_BAD_REQUEST', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}

/** `{ files: { "<name>.yaml": "<text>" } }` → the file map; ADMIN_BAD_REQUEST otherwise. */
export function filesOf(body: Record<string, unknown>): Record<string, string> {
  const files = body.files;
  if (files === null || typeof files !== 'object' || Array.isArray(files)) {
    throw new PlayPulseError('ADMIN_BAD_REQUEST', 'the body must be { "files": { "<name>.yaml": "<yaml text>" } }');
  }
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files as Record<string, unknown>)) {
    // A `__proto__` name would be dropped by the assignment below, not diagnosed: refused here, with its kin.
    if (FORBIDDEN_KEYS.includes(name)) throw new PlayPulseError('ADMIN_BAD_REQUEST', `"${name}" is not a designer file name`, { file: name });
    if (typeof text !== 'string') throw new PlayPulseError('ADMIN_BAD_REQUEST', `files["${name}"] must be a string of YAML`, { file: name });
    out[name] = text;
  }
  return out;
}
