import { z } from 'zod';
import { DURATION_PATTERN } from './duration.ts';
import { WEEKDAYS } from './schedule.ts';

/**
 * The schemas of the five designer file kinds. Zod validates the files; the JSON Schemas
 * under offers/schemas/ are generated from these same definitions (`jsonSchemas()`, written
 * by `npm run rules -- schemas`) and a golden test keeps the committed files equal to them.
 */
export const EVENT_TYPE_PATTERN = '^[a-z0-9_.]{1,64}$';
export const IDENT_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,63}$';
export const SEGMENT_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';
export const RULE_ID_PATTERN = '^[a-z0-9][a-z0-9_.-]{0,63}$';
export const FIELD_TYPES = ['int', 'double', 'number', 'string', 'bool', 'map', 'list'] as const;
export const PROPERTY_KINDS = ['count', 'sum', 'min', 'max', 'last', 'streak'] as const;
export const RESPONSE_EVENTS = ['offer.shown', 'offer.accepted', 'offer.declined', 'offer.purchased'] as const;

const duration = (description: string) =>
  z.string().regex(new RegExp(DURATION_PATTERN), 'must be a duration like 30s, 15m, 24h or 7d').meta({ description });
const cel = (description: string) => z.string().min(1).max(4096).meta({ description });
const eventType = z.string().regex(new RegExp(EVENT_TYPE_PATTERN), 'must be 1-64 characters of a-z, 0-9, `_` and `.`');

const fieldType = z.enum(FIELD_TYPES).meta({ description: 'int, double (or number), string, bool, map or list' });
const fieldSpec = z.union([
  fieldType,
  z
    .strictObject({
      type: fieldType.optional(),
      required: z.boolean().optional().meta({ description: 'the edge refuses an event without this field (default false)' }),
      enum: z.array(z.string().min(1)).min(1).optional().meta({ description: 'allowed values; implies type string' }),
      description: z.string().optional(),
    })
    .meta({ description: 'long form of a field: { type, required, enum }' }),
]);

export const eventsSchema = z
  .strictObject({
    events: z
      .record(
        eventType,
        z
          .strictObject({
            description: z.string().optional(),
            data: z
              .record(z.string().regex(new RegExp(IDENT_PATTERN), 'must be an identifier (letters, digits, `_`)'), fieldSpec)
              .optional()
              .meta({ description: 'fields of event.data: `name: int` or `name: { type, required, enum }`' }),
          })
          .nullable(),
      )
      .meta({ description: 'event type -> its data fields; offer.shown/accepted/declined/purchased are built in' }),
  })
  .meta({ title: 'PlayPulse events.yaml', description: 'The event taxonomy: the edge refuses an undeclared event type or bad data.' });

const propertyWhen = cel('CEL over `event` only, evaluated before the state update: the property counts or updates only when true');
const countSpec = z.strictObject({ event: eventType, when: propertyWhen.optional(), window: duration('sliding window, e.g. 10m or 7d').optional() });
const sumSpec = z.strictObject({
  event: eventType,
  field: z.string().min(1).meta({ description: 'numeric event field, e.g. data.coins' }),
  when: propertyWhen.optional(),
  window: duration('sliding window, e.g. 10m or 7d').optional(),
});
const fieldSpecOf = (what: string) =>
  z.strictObject({ event: eventType, field: z.string().min(1).meta({ description: what }), when: propertyWhen.optional() });
const streakSpec = z.strictObject({ event: eventType, when: propertyWhen.optional() });

export const propertiesSchema = z
  .strictObject({
    properties: z.record(
      z.string().regex(new RegExp('^[a-z_][a-z0-9_]{0,63}$'), 'must be lower_snake_case'),
      z
        .strictObject({
          description: z.string().optional(),
          count: countSpec.optional().meta({ description: 'number of matching events (optionally in a sliding window)' }),
          sum: sumSpec.optional().meta({ description: 'sum of a numeric field (optionally in a sliding window)' }),
          min: fieldSpecOf('numeric event field, e.g. data.score').optional().meta({ description: 'smallest value of a numeric field' }),
          max: fieldSpecOf('numeric event field, e.g. data.score').optional().meta({ description: 'largest value of a numeric field' }),
          last: fieldSpecOf('event field, e.g. data.level').optional().meta({ description: 'latest value of a field' }),
          streak: streakSpec.optional().meta({ description: 'consecutive matching events; resets on a matching event that fails `when`' }),
        })
        .meta({ oneOf: PROPERTY_KINDS.map((k) => ({ required: [k] })) }),
    ),
  })
  .meta({ title: 'PlayPulse properties.yaml', description: 'Player properties that processors maintain.' });

const segmentName = z.string().regex(new RegExp(SEGMENT_NAME_PATTERN), 'must be lower_snake_case: a-z, 0-9 and `_`, starting with a letter');

export const segmentsSchema = z
  .strictObject({
    segments: z
      .record(
        segmentName,
        z.union([
          cel('CEL condition over `player` (and other segments as `segment.<name>`); must be bool'),
          z.strictObject({
            description: z.string().optional().meta({ description: 'for people' }),
            when: cel('CEL condition over `player` (and other segments as `segment.<name>`); must be bool'),
          }),
        ]),
      )
      .meta({ description: 'segment name -> its condition, or { description, when }; rules read it as `segment.<name>`' }),
  })
  .meta({ title: 'PlayPulse segments.yaml', description: 'Named groups of players: bool conditions over player properties.' });

export const policySchema = z
  .strictObject({
    fatigue: z
      .strictObject({
        maxOffersPerDay: z.number().int().min(0).optional().meta({ description: 'per player, all rules together' }),
        quietAfterPurchase: duration('no new offer for this long after a purchase').optional(),
        quietAfterDecline: duration('no new offer for this long after a decline').optional(),
      })
      .optional(),
    holdout: z
      .strictObject({ percent: z.number().min(0).max(100).meta({ description: 'stable share of players that never gets an offer' }) })
      .optional(),
    revenue: z
      .strictObject({
        event: eventType.meta({ description: 'the declared event that reports a purchase outside the offers, like shop.purchase' }),
        amount: z.string().min(1).meta({ description: 'its data field with the amount, an int in minor units, like data.amount' }),
        currency: z.string().min(1).meta({ description: 'an ISO 4217 code every amount is in, like USD, or its data field carrying the code, like data.currency' }),
        window: duration('spend counts towards a rule for this long after the player triggered it (default 7d)').optional(),
      })
      .optional()
      .meta({ description: "what players spend, so each rule's revenue per player can be compared with the global holdout's (lift)" }),
    retention: duration("how long an inactive player's live state stays in Redis (default 90d; at least 1d); rebuilt from Kafka history by a replay").optional(),
    segments: z
      .record(
        segmentName,
        z.strictObject({
          maxOffersPerDay: z.number().int().min(0).meta({ description: "per player in this segment, all rules together; replaces fatigue.maxOffersPerDay for the segment's players" }),
        }),
      )
      .optional()
      .meta({ description: "per segment of segments.yaml: its own daily cap; a player in several segments gets the tightest of their segments' caps" }),
  })
  .meta({ title: 'PlayPulse policy.yaml', description: 'Guardrails across all rules.' });

/**
 * A number computed per player (designer/shaped.ts): a numeric CEL expression, its bounds and
 * the value on a runtime error. min <= max <= the field's own range, round > 0 and default
 * inside the bounds are checked by the compiler, with positions.
 */
const computed = (what: string, n: () => z.ZodNumber) =>
  z
    .strictObject({
      expr: cel('CEL over `event`, `player` and `segment`; must be a number (int or double)'),
      min: n().meta({ description: `lowest ${what}: a lower value is raised to it (clamped)` }),
      max: n().meta({ description: `highest ${what}: a higher value is lowered to it (clamped)` }),
      round: z.number().positive().optional().meta({ description: 'round to the nearest multiple of this before clamping, e.g. 50' }),
      default: n().meta({ description: `the ${what} when the expression fails at run time (division by zero, a missing value)` }),
    })
    .meta({ description: `${what} computed per player: { expr, min, max, round?, default }` });
const amount = () => z.number().int().min(0);
const price = z.strictObject({
  amount: z
    .union([amount().meta({ description: 'integer, minor units (199 = 1.99 USD)' }), computed('amount (integer, minor units)', amount)])
    .meta({ description: 'integer, minor units (199 = 1.99 USD), or computed per player: { expr, min, max, round?, default }' }),
  currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD').meta({ description: 'ISO 4217 code' }),
});
const pct = () => z.number().min(0).max(100);
const quantity = () => z.number().int().min(1);
const offerFields = {
  sku: z.string().min(1).max(128).meta({ description: 'store item the offer sells' }),
  title: z
    .union([
      z.string().max(200).meta({ description: 'shown to the player' }),
      z
        .strictObject({
          template: z.string().min(1).max(1000).meta({ description: 'text with `{{ cel }}` placeholders, e.g. "Level {{ player.level }} pack"' }),
          default: z.string().max(200).meta({ description: 'the title when a placeholder fails at run time' }),
        })
        .meta({ description: 'title rendered per player: { template, default }' }),
    ])
    .optional()
    .meta({ description: 'shown to the player; a plain string, or { template, default } rendered per player' }),
  price,
  discountPct: z
    .union([pct().meta({ description: '0-100, for display' }), computed('discount (0-100)', pct)])
    .optional()
    .meta({ description: '0-100, for display, or computed per player: { expr, min, max, round?, default }' }),
  quantity: z
    .union([quantity().meta({ description: 'units of the sku the offer sells' }), computed('quantity (integer, at least 1)', quantity)])
    .optional()
    .meta({ description: 'units of the sku the offer sells (integer, at least 1), or computed per player: { expr, min, max, round?, default }' }),
  data: z.record(z.string(), z.unknown()).optional().meta({ description: 'free-form data passed to the client with the offer' }),
};
/** An instant with an explicit offset: `2026-12-24T18:00:00+01:00` or `…Z` (seconds and fraction optional). */
export const INSTANT_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\\.[0-9]{1,3})?)?(Z|[+-][0-9]{2}:[0-9]{2})$';
export const CLOCK_PATTERN = '^([01][0-9]|2[0-4]):[0-5][0-9]$';
const instant = (description: string) =>
  z.string().regex(new RegExp(INSTANT_PATTERN), 'must be an ISO 8601 instant with an offset, like 2026-12-24T18:00:00+01:00 or 2026-12-24T17:00:00Z').meta({ description });
const clock = (description: string) => z.string().regex(new RegExp(CLOCK_PATTERN), 'must be a time of day HH:MM, like 09:30 (24:00 ends a day)').meta({ description });
const schedule = z
  .strictObject({
    start: instant('the rule applies from this instant on (inclusive)').optional(),
    end: instant('the rule no longer applies from this instant on (exclusive)').optional(),
    timeZone: z.string().min(1).optional().meta({ description: 'IANA time zone of the weekly windows, like Europe/Berlin (default UTC)' }),
    playerTimeZone: z
      .string()
      .regex(new RegExp('^[a-z_][a-z0-9_]{0,63}$'), 'must be the name of a player property')
      .optional()
      .meta({ description: "a string player property with the player's IANA time zone: the weekly windows are then in the player's zone (timeZone when it has none)" }),
    weekly: z
      .array(
        z.strictObject({
          days: z.array(z.enum(WEEKDAYS)).min(1).meta({ description: 'days of the week: sun, mon, tue, wed, thu, fri, sat' }),
          from: clock('local time the window opens (inclusive)'),
          to: clock('local time the window closes (exclusive); 24:00 is the end of the day'),
        }),
      )
      .min(1)
      .max(50)
      .optional()
      .meta({ description: 'recurring windows of local time in `timeZone`; the rule applies only inside one' }),
  })
  .meta({ description: 'when the rule applies, by the triggering event\'s time: outside it the rule is not considered (outcome outside_schedule)' });
const ruleId = z.string().regex(new RegExp(RULE_ID_PATTERN), 'must be 1-64 characters of a-z, 0-9, `_`, `.` and `-`');

export const ruleSchema = z
  .strictObject({
    id: ruleId.meta({ description: 'unique rule id: a-z, 0-9, `_`, `.`, `-`' }),
    description: z.string().optional().meta({ description: 'for people' }),
    enabled: z.boolean().optional().meta({ description: 'default true' }),
    mode: z.enum(['live', 'shadow']).optional().meta({ description: 'live (default) or shadow: evaluated and recorded, never delivered' }),
    priority: z.number().int().optional().meta({ description: 'higher wins when several rules match one event (default 0)' }),
    trigger: z.strictObject({
      event: eventType.meta({ description: 'declared event type that triggers the rule' }),
      when: cel('CEL condition over `event`, `player` and `segment`; must be bool').optional(),
      followUpOnly: z
        .boolean()
        .optional()
        .meta({ description: 'true: never triggered by an event directly, only as another rule\'s followUp (default false)' }),
    }),
    offer: z.strictObject({ ...offerFields, ttl: duration('how long the offer stays valid') }).meta({ description: 'what the player is offered' }),
    limits: z
      .strictObject({
        cooldown: duration('per player, minimum time between two offers of this rule').optional(),
        maxPerPlayer: z.number().int().min(1).optional().meta({ description: 'lifetime, per player' }),
        budget: z
          .strictObject({ count: z.number().int().min(1), per: z.enum(['day', 'hour']) })
          .optional()
          .meta({ description: 'across all players, per UTC day or hour' }),
      })
      .optional(),
    experiment: z
      .strictObject({
        variants: z
          .array(
            z.strictObject({
              name: z.string().regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 characters of letters, digits, `_`, `-`'),
              weight: z.number().min(0),
              holdout: z.boolean().optional().meta({ description: 'players in this arm get no offer (control)' }),
              offer: z
                .strictObject({ ...offerFields, sku: offerFields.sku.optional(), price: price.optional() })
                .optional()
                .meta({ description: 'offer fields this arm overrides' }),
            }),
          )
          .min(1)
          .max(20),
        allocation: z
          .enum(['weights', 'bandit'])
          .optional()
          .meta({ description: 'weights: fixed shares by weight (default); bandit: shares learned from conversions (Thompson sampling)' }),
        bandit: z
          .strictObject({
            objective: z
              .enum(['purchase_rate', 'revenue'])
              .optional()
              .meta({ description: 'what the bandit maximises per offer: purchases (default) or revenue' }),
            minShare: z.number().min(0).max(0.5).optional().meta({ description: 'least share of every non-holdout arm, 0..0.5 (default 0.05)' }),
            warmup: z.number().int().min(0).max(1_000_000).optional().meta({ description: 'offers every arm makes at its weight before learning starts (default 100)' }),
          })
          .optional()
          .meta({ description: 'settings of `allocation: bandit`' }),
      })
      .optional(),
    followUp: z
      .strictObject({
        after: duration('wait this long after the first offer'),
        unless: z.enum(RESPONSE_EVENTS).optional().meta({ description: 'response that cancels the follow-up (default offer.purchased)' }),
        rule: ruleId.meta({ description: 'id of the rule to evaluate then' }),
      })
      .optional()
      .meta({ description: 'evaluate another rule when the offer was not answered by `unless` within `after`' }),
    schedule: schedule.optional(),
  })
  .meta({ title: 'PlayPulse rule', description: 'One offer rule (docs/contract.md §4).' });

export type EventsFile = z.infer<typeof eventsSchema>;
export type PropertiesFile = z.infer<typeof propertiesSchema>;
export type PolicyFile = z.infer<typeof policySchema>;
export type SegmentsFile = z.infer<typeof segmentsSchema>;
export type RuleFile = z.infer<typeof ruleSchema>;

export const FILE_KINDS = { events: eventsSchema, properties: propertiesSchema, segments: segmentsSchema, policy: policySchema, rule: ruleSchema } as const;
export type FileKind = keyof typeof FILE_KINDS;

/** The JSON Schema (draft-07, for editors) of each file kind, as written to offers/schemas/<kind>.schema.json. */
export function jsonSchemas(): Record<FileKind, Record<string, unknown>> {
  const out = {} as Record<FileKind, Record<string, unknown>>;
  for (const [kind, schema] of Object.entries(FILE_KINDS) as [FileKind, z.ZodType][]) {
    out[kind] = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  }
  return out;
}

/** The text of offers/schemas/<kind>.schema.json. */
export function jsonSchemaText(kind: FileKind): string {
  return `${JSON.stringify(jsonSchemas()[kind], null, 2)}\n`;
}
