/** The PlayPulse client SDK (browser and Node). */
export { PlayPulseClient, PlayPulseError, type ClientEvent, type ClientOptions, type WebSocketConstructor, type WebSocketLike } from './client.ts';
export { backoffDelay, type BackoffOptions } from './backoff.ts';
export type { Offer } from '../protocol/offer.ts';
export { RESEND_WINDOW } from '../protocol/limits.ts';
