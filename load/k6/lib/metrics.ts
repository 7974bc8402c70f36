/** The custom k6 metrics every script shares; each script adds thresholds on the ones it drives. */
import { Counter, Rate, Trend } from 'k6/metrics';

/** Per event: send of its frame → the `ack` naming its id. */
export const ackMs = new Trend('ack_ms', true);
/** Per triggering event: its send → the `offer` frame's arrival. */
export const eventToOfferMs = new Trend('event_to_offer_ms', true);
/** Per ping: send → pong. */
export const pongMs = new Trend('pong_ms', true);
/** Per dropped player: its close → `hello` on the new socket. */
export const rehelloMs = new Trend('reconnect_hello_ms', true);
/** Per dropped player holding a pending offer: its close → the offer redelivered. */
export const redeliveryMs = new Trend('pending_redelivery_ms', true);

export const eventsSent = new Counter('events_sent');
export const eventsAcked = new Counter('events_acked');
/** Per event: true when refused by an `err` frame. */
export const eventErrors = new Rate('event_errors');
export const errFrames = new Counter('err_frames');
export const offersReceived = new Counter('offers_received');
/** Per comeback sequence: true when its offer arrived in time. */
export const offerArrived = new Rate('offer_arrived');
/** Per dropped player with a pending offer: true when it came back after reconnecting. */
export const pendingRedelivered = new Rate('pending_redelivered');
export const wsErrors = new Counter('ws_errors');
/** Sockets closed by the server or the network while the script still wanted them. */
export const unexpectedCloses = new Counter('ws_unexpected_close');
export const unknownFrames = new Counter('frames_unknown');
