import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, signIn, type TestBrowser } from './chromium.ts';
import { offerablePlayer } from './sample-players.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { readBundleDir } from '../../designer/load.ts';
import { testConfig } from '../helpers/stack.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { produceRecorded, startPlayPulse, type RunningPlayPulse } from '../integration/backtest-stack.ts';
import { eventually } from '../integration/offers-fixtures.ts';

/**
 * The rules page shows each rule's schedule and whether it holds now (in a real browser,
 * as console.test.ts): the sample game plus a rule in its schedule and one whose schedule
 * starts tomorrow, published through the admin API. Times are relative to now.
 *
 * It also shows offers shaped per player: the sample's whale re-engagement rule computes its
 * price from the player's 30-day spend. A whale's purchase and session go through Kafka and
 * the processors; the rules page shows the expression and its bounds, the player's page the
 * pending offer at the price computed for them, and their decision trail that price with the
 * spend it was computed from.
 */
const HOUR = 3_600_000;

let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;
let whale: string;
const now = Date.now();
const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString();
const rule = (id: string, schedule: string) =>
  `id: ${id}\ntrigger:\n  event: match.end\n  when: 'event.data.result == "draw"'\noffer:\n  sku: bundle.${id}\n  price: { amount: 99, currency: USD }\n  ttl: 1h\nschedule:\n${schedule}`;

beforeAll(async () => {
  await buildConsole();
  pp = await startPlayPulse(testConfig());
  await pp.admin('PUT', '/v1/rules', {
    files: {
      ...readBundleDir('offers/rules'),
      'sched-now.yaml': rule('sched-now', `  start: "${iso(now - HOUR)}"\n  end: "${iso(now + 24 * HOUR)}"\n`),
      'sched-later.yaml': rule('sched-later', `  start: "${iso(now + 24 * HOUR)}"\n  timeZone: Europe/Berlin\n  weekly:\n    - { days: [sat, sun], from: "10:00", to: "22:00" }\n`),
    },
    message: 'scheduled rules',
  });
  whale = offerablePlayer('whale');
  const at = now - 60_000;
  const event = (id: string, type: string, data: Record<string, unknown>, recvAt: number): EventRecord => ({ v: 1, player: whale, id, type, data, recvAt, edge: 'test-edge', session: 'test-session' });
  const records = [
    event('buy-1', 'shop.purchase', { sku: 'gems.huge', coins: 9000, amount: 6200, currency: 'USD' }, at),
    event('session-1', 'session.start', { platform: 'pc', app_version: '1.0.0' }, at + 1_000),
  ];
  await produceRecorded(pp.config, { records, from: at, to: at + 1_000 });
  // Decided once the processors reach the session: the offer then waits in the player's inbox.
  await eventually(async () => {
    const snap = await pp.admin<{ inbox?: { ruleId: string }[] }>('GET', `/v1/players/${encodeURIComponent(whale)}`).catch(() => null);
    return snap?.inbox?.some((o) => o.ruleId === 'whale-reengagement') ? true : undefined;
  }, 120_000, 'the whale offer');
  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
});

describe('schedules on the rules page', () => {
  it("shows each scheduled rule's windows and whether it is active now", async () => {
    const pageErrors = await signIn(page, pp.adminUrl, pp.config.adminToken);
    await page.waitForSelector('#rules-table a[data-rule="sched-later"]');

    const active = page.locator('[data-schedule="sched-now"]');
    expect(await active.locator('[data-schedule-active]').getAttribute('data-schedule-active')).toBe('true');
    expect(await active.textContent()).toBe(`schedule: from ${iso(now - HOUR)}, until ${iso(now + 24 * HOUR)} active now`);

    const later = page.locator('[data-schedule="sched-later"]');
    expect(await later.locator('[data-schedule-active]').getAttribute('data-schedule-active')).toBe('false');
    expect(await later.textContent()).toMatch(/^schedule: from \S+, sun, sat 10:00–22:00 \(Europe\/Berlin\) inactive; next window \S+$/);
    const published = await pp.admin<{ rules: { id: string; schedule: { nextStart: string | null } | null }[] }>('GET', '/v1/rules');
    const next = published.rules.find((r) => r.id === 'sched-later')?.schedule?.nextStart;
    expect(next).toEqual(expect.any(String));
    expect(await later.textContent()).toContain(`next window ${next ?? ''}`);

    expect(await page.locator('[data-schedule="comeback-bundle"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });
});

describe('shaped offers in the console', () => {
  it("shows the rule's price expression and bounds, and the price computed for a player with its inputs", async () => {
    const pageErrors = await signIn(page, pp.adminUrl, pp.config.adminToken);
    await page.waitForSelector('[data-shaped-rule="whale-reengagement"]');
    expect(await page.textContent('[data-shaped-rule="whale-reengagement"][data-shaped="price.amount"]')).toBe(
      'price.amount per player: double(player.revenue_30d) * 0.25, between 999 and 2999, rounded to 50; default 1999',
    );
    expect(await page.locator('[data-shaped-rule="comeback-bundle"]').count()).toBe(0);

    await page.goto(`${pp.adminUrl}/#/players/${encodeURIComponent(whale)}`);
    // A quarter of 62.00, in steps of 0.50: 15.50, inside 9.99–29.99.
    await page.waitForSelector('#player-inbox');
    expect(await page.textContent('#player-inbox tbody')).toContain('whale-reengagement');
    expect(await page.textContent('#player-inbox tbody')).toContain('15.50');
    const line = page.locator('#decision-trail tr[data-rule="whale-reengagement"][data-outcome="offered"] [data-shaped="price.amount"]');
    await line.waitFor();
    expect(await line.getAttribute('data-shaped-outcome')).toBe('computed');
    expect(await line.textContent()).toBe('price.amount 1550: computed · from player.revenue_30d = 6200');
    expect(pageErrors).toEqual([]);
  });
});
