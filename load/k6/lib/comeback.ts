/**
 * One player's comeback sequence: connect, lose `losses` matches in a row (one frame each,
 * `gapMs` apart), then wait for the rule's offer. The Trend event_to_offer_ms runs from the
 * send of the triggering (last) event to the offer's arrival. The offer is then reported as
 * shown unless `reportShown` is false (the reconnect storm keeps it pending).
 */
import { clearTimeout, setTimeout } from 'k6/timers';
import { comebackSequence, offerShownEvent, type OfferPayload } from '../../scenarios/index.ts';
import { eventToOfferMs, offerArrived, offersReceived } from './metrics.ts';
import { openPlayer, type PlayerHooks, type PlayerSocket } from './player.ts';
import type { PlayerCredentials } from './token.ts';

export interface ComebackOptions {
  readonly creds: PlayerCredentials;
  readonly losses: number;
  readonly gapMs: number;
  readonly ruleId: string;
  readonly offerTimeoutMs: number;
  readonly reportShown: boolean;
  /** Called once: with the offer, or null when none came in time. The socket stays open unless `closeAfter`. */
  readonly done?: (offer: OfferPayload | null, player: PlayerSocket) => void;
  readonly closeAfter: boolean;
  readonly hooks?: PlayerHooks;
}

export function playComeback(opts: ComebackOptions): PlayerSocket {
  let triggerSentAt = 0;
  let settled = false;
  let timeout: ReturnType<typeof setTimeout> | null = null;
  const events = comebackSequence(`${opts.creds.playerId}.`, opts.losses, Date.now());
  const finish = (offer: OfferPayload | null) => {
    if (settled) return;
    settled = true;
    if (timeout !== null) clearTimeout(timeout);
    offerArrived.add(offer !== null);
    opts.done?.(offer, player);
    if (opts.closeAfter) player.close();
  };
  const player: PlayerSocket = openPlayer(opts.creds, {
    ...opts.hooks,
    onHello: (now) => {
      opts.hooks?.onHello?.(now);
      events.forEach((ev, i) => {
        setTimeout(() => {
          player.sendEvents([ev]);
          if (i === events.length - 1) {
            triggerSentAt = Date.now();
            timeout = setTimeout(() => finish(null), opts.offerTimeoutMs);
          }
        }, i * opts.gapMs);
      });
    },
    onOffer: (offer, now) => {
      opts.hooks?.onOffer?.(offer, now);
      if (offer.ruleId !== opts.ruleId || triggerSentAt === 0 || settled) return;
      offersReceived.add(1);
      eventToOfferMs.add(now - triggerSentAt);
      if (opts.reportShown) player.sendEvents([offerShownEvent(`${opts.creds.playerId}.shown`, offer.id, now)]);
      finish(offer);
    },
  });
  return player;
}
