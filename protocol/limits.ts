/**
 * The numeric limits of protocol v1 (docs/contract.md §3). The frame size limit itself is
 * configuration (PLAYPULSE_MAX_PAYLOAD_BYTES, 64 KiB by default); these are fixed by the
 * protocol and the same for every edge.
 */

/** Events in one `evs` frame: 1..500. A frame with more is refused whole (`bad_frame`). */
export const MAX_BATCH_EVENTS = 500;

/** `id` of an event: 1..64 characters, any UTF-8. */
export const MAX_EVENT_ID_CHARS = 64;

/** `type` of an event: 1..64 of `[a-z0-9_.]`. */
export const EVENT_TYPE_PATTERN = /^[a-z0-9_.]{1,64}$/;

/** `data` of an event, re-encoded as plain MessagePack, at most this many bytes. */
export const MAX_DATA_BYTES = 16 * 1024;

/** Nesting of maps and arrays in one frame, the frame map itself counting as 1. */
export const MAX_DEPTH = 16;

/** Map keys that are refused anywhere in a frame, so no decoded object can reach a prototype. */
export const FORBIDDEN_KEYS: readonly string[] = ['__proto__', 'constructor', 'prototype'];

/** Default frame size limit, as configured by PLAYPULSE_MAX_PAYLOAD_BYTES. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024;

/**
 * A player id, the `sub` of a player token (docs/contract.md §2). Anything else could break
 * the `{p:<id>}` hash tag of the player's Redis keys.
 */
export const PLAYER_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * `stream` of the upgrade URL (one client's event sequence, e.g. one SDK instance): 1..64 of
 * `[A-Za-z0-9_.:-]`, like a player id.
 */
export const STREAM_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** `seq` of an event: an integer 1..2^53 - 1, strictly increasing per stream in first-send order. */
export const MAX_SEQ = Number.MAX_SAFE_INTEGER;

/**
 * The resend bound: an event resent with the same stream and seq is counted once while its
 * seq is greater than (the newest seq the stream has sent) - RESEND_WINDOW. A client never
 * keeps an event unacked once its seq has fallen out of that window.
 */
export const RESEND_WINDOW = 65_536;

/**
 * How far a record's `recvAt` may be ahead of the processors' clock. `recvAt` is the edge's
 * receive time, so a correct record is never ahead by more than the clock skew between
 * machines; a time further ahead is impossible (a broken clock or a forged record) and is
 * applied at the processing time instead, so it cannot move a player's clock (last_seen,
 * windows, limits: a player's time never runs backwards) into the future.
 */
export const MAX_FUTURE_RECV_AT_MS = 5 * 60_000;
