import { createServer, connect } from 'node:net';
import { PlayPulseError } from '../lib/errors.ts';

/** True when something accepts TCP connections at host:port within `timeoutMs`. */
export function isPortOpen(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** True when this process could bind 127.0.0.1:port right now. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port on 127.0.0.1 that is free now (chosen by the OS). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new PlayPulseError('STACK_UNAVAILABLE', 'no free port'))));
    });
  });
}

/**
 * A port p such that p and p + offset are both free (Redis Cluster nodes listen on
 * port + 10000 for the cluster bus). Chosen at random below the OS ephemeral range.
 */
export async function freePortPair(offset: number, taken: ReadonlySet<number> = new Set()): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 10_000);
    if (taken.has(port) || taken.has(port + offset)) continue;
    if ((await canBind(port)) && (await canBind(port + offset))) return port;
  }
  throw new PlayPulseError('STACK_UNAVAILABLE', `no free port pair (p, p+${offset}) found`);
}

