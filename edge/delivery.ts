/**
 * Offer delivery on one edge instance (docs/delivery.md): presence of its players, the
 * instance's sharded pub/sub channel, and the inbox pushed on connect.
 *
 * On connect: presence is written first, then the inbox is read, so an offer added to the
 * inbox at any moment reaches the socket either through the channel (the engine saw the
 * presence) or through the inbox read (it was added before the presence). A socket
 * ignores an offer it already has, and any offer past its expiresAt.
 */
import type { Logger } from '../lib/log.ts';
import type { Tracing } from '../lib/tracing.ts';
import { offerChannel, playerKeys } from '../lib/keys.ts';
import type { RedisClient } from '../lib/redis.ts';
import { edgeMetrics } from './metrics.ts';
import type { SessionRegistry } from './registry.ts';
import { orderInbox, parseOfferMessage } from '../protocol/offer-channel.ts';
import type { EdgeScripts } from './scripts.ts';
import type { Session } from './session.ts';

export interface DeliveryOptions {
  keyPrefix: string;
  instanceId: string;
  presenceTtlMs: number;
  heartbeatMs: number;
  /** Most offers pushed from the inbox on one connect. */
  inboxLimit: number;
}

/** Concurrent Redis calls of one heartbeat round. */
const HEARTBEAT_CHUNK = 500;

export class OfferDelivery {
  private heartbeat: NodeJS.Timeout | null = null;
  private subscribedOnce = false;
  private stopped = false;
  private readonly channel: string;

  constructor(
    private readonly redis: RedisClient,
    private readonly scripts: EdgeScripts,
    private readonly subscriber: RedisClient,
    private readonly sessions: SessionRegistry<Session>,
    private readonly opts: DeliveryOptions,
    private readonly log: Logger,
    private readonly tracing: Tracing | null = null,
  ) {
    this.channel = offerChannel(opts.keyPrefix, opts.instanceId);
  }

  /** Subscribes to this instance's channel; resolves once subscribed (or after `timeoutMs`, retrying in the background). */
  async start(timeoutMs: number): Promise<void> {
    this.subscriber.on('smessage', (channel: string, message: string) => {
      if (channel === this.channel) this.onMessage(message);
    });
    this.subscriber.on('ready', () => {
      if (this.subscribedOnce) this.resyncAll();
    });
    const subscribed = this.subscriber.ssubscribe(this.channel).then(() => {
      this.subscribedOnce = true;
    });
    subscribed.catch((err: unknown) => this.log.warn({ err }, 'offer channel subscription failed; ioredis retries on reconnect'));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([subscribed.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    this.heartbeat = setInterval(() => void this.touchAll(), this.opts.heartbeatMs);
    this.heartbeat.unref();
  }

  /** A socket opened: mark presence, then push its pending inbox. */
  async onConnect(session: Session): Promise<void> {
    try {
      await this.touch(session.player);
      await this.pushInbox(session);
    } catch (err) {
      edgeMetrics.presenceErrors.inc();
      this.log.warn({ err, player: session.player }, 'presence or inbox read failed on connect');
    }
  }

  /** The player's last socket here closed. */
  onLastDisconnect(player: string): void {
    if (this.stopped) return;
    this.scripts.presenceLeave(playerKeys(this.opts.keyPrefix, player).presence, this.opts.instanceId, Date.now()).catch((err: unknown) => {
      edgeMetrics.presenceErrors.inc();
      this.log.warn({ err, player }, 'presence removal failed (it expires by itself)');
    });
  }

  async stop(players: readonly string[]): Promise<void> {
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    const now = Date.now();
    await Promise.allSettled([
      this.subscriber.sunsubscribe(this.channel),
      ...players.map((p) => this.scripts.presenceLeave(playerKeys(this.opts.keyPrefix, p).presence, this.opts.instanceId, now)),
    ]);
  }

  private onMessage(text: string): void {
    const msg = parseOfferMessage(text);
    if (!msg) {
      edgeMetrics.offersSkipped.inc({ reason: 'invalid' });
      this.log.warn('unparsable message on the offer channel');
      return;
    }
    const parent = this.tracing !== null && msg.traceparent !== undefined ? this.tracing.extract(msg.traceparent) : undefined;
    if (!parent || !this.tracing) {
      for (const session of this.sessions.of(msg.player)) session.deliverOffer(msg.offer, 'live');
      return;
    }
    // A traced offer (its triggering event was sampled at an edge): the push is the trace's last hop.
    const span = this.tracing.start('edge.push', parent, { 'playpulse.player': msg.player, 'playpulse.offer': msg.offer.id, 'playpulse.edge': this.opts.instanceId });
    let sockets = 0;
    for (const session of this.sessions.of(msg.player)) {
      session.deliverOffer(msg.offer, 'live');
      sockets += 1;
    }
    span.setAttribute('playpulse.sockets', sockets);
    span.end();
  }

  private async pushInbox(session: Session): Promise<void> {
    const keys = playerKeys(this.opts.keyPrefix, session.player);
    const bodies = await this.scripts.inboxPending(keys.inbox, keys.offers, Date.now(), this.opts.inboxLimit);
    const { offers, invalid } = orderInbox(bodies);
    if (invalid > 0) edgeMetrics.offersSkipped.inc({ reason: 'invalid' }, invalid);
    edgeMetrics.offersPending.observe(offers.length);
    for (const offer of offers) session.deliverOffer(offer, 'inbox');
  }

  private touch(player: string): Promise<number> {
    const now = Date.now();
    return this.scripts.presenceTouch(playerKeys(this.opts.keyPrefix, player).presence, this.opts.instanceId, now, now + this.opts.presenceTtlMs);
  }

  private async touchAll(): Promise<void> {
    const players = this.sessions.players();
    for (let i = 0; i < players.length && !this.stopped; i += HEARTBEAT_CHUNK) {
      const results = await Promise.allSettled(players.slice(i, i + HEARTBEAT_CHUNK).map((p) => this.touch(p)));
      const failed = results.filter((r) => r.status === 'rejected').length;
      if (failed > 0) {
        edgeMetrics.presenceErrors.inc(failed);
        this.log.warn({ failed }, 'presence heartbeat failed for some players');
      }
    }
  }

  /** After the subscriber reconnected, messages may have been lost: re-read every local inbox. */
  private resyncAll(): void {
    if (this.stopped) return;
    this.log.info({ sockets: this.sessions.size }, 'offer channel reconnected: re-reading inboxes');
    for (const session of this.sessions.all()) {
      this.pushInbox(session).catch((err: unknown) => {
        edgeMetrics.presenceErrors.inc();
        this.log.warn({ err }, 'inbox re-read failed');
      });
    }
  }
}
