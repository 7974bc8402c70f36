import { pino, type Logger } from 'pino';

/**
 * The one logger. JSON lines by default; pretty when stdout is a terminal (or
 * PLAYPULSE_LOG_PRETTY=1). Level from PLAYPULSE_LOG_LEVEL, read here as well as in config
 * so that logging works before config is validated.
 */
const pretty = process.env.PLAYPULSE_LOG_PRETTY === '1' || (process.stdout.isTTY === true && process.env.PLAYPULSE_LOG_PRETTY !== '0');

export const rootLogger: Logger = pino({
  level: process.env.PLAYPULSE_LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  ...(pretty ? { transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l' } } } : {}),
});

export function createLogger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger.child({ component, ...bindings });
}

export type { Logger };
