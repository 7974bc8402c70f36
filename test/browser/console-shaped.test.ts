import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './chromium.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { inHoldout } from '../../offers/engine/hashing.ts';
import { testConfig } from '../helpers/stack.ts';
import { TestClient, type Frame } from '../integration/edge-harness.ts';
import { startPlayPulse, type RunningPlayPulse } from '../integration/backtest-stack.ts';

/**
 * Offers shaped per player in the console (a real browser, as console.test.ts): the sample
 * game's whale re-engagement rule computes its price from the player's 30-day spend. The
 * rules page shows the expression and its bounds; a whale's decision trail shows the price
 * computed for them and the spend it was computed from.
 */
let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;
let whale: string;
let offered: Frame;

/** A player outside the sample game's global holdout. */
function eligiblePlayer(): string {
  const compiled = compileBundle(readBundleDir('offers/rules'));
  if (!compiled.ok) throw new Error('the sample rules do not compile');
  for (let i = 0; ; i++) {
    const id = `whale-${i}`;
    if (!inHoldout(id, compiled.bundle.policy.holdoutPercent)) return id;
  }
}

beforeAll(async () => {
  await buildConsole();
  pp = await startPlayPulse(testConfig());
  whale = eligiblePlayer();
  const client = await TestClient.connect(`${pp.edgeUrl}?token=${encodeURIComponent(await pp.token(whale))}`);
  try {
    client.send({ t: 'ev', id: 'buy-1', type: 'shop.purchase', data: { sku: 'gems.huge', coins: 9000, amount: 6200, currency: 'USD' } });
    await client.acked(['buy-1']);
    client.send({ t: 'ev', id: 'session-1', type: 'session.start', data: { platform: 'pc', app_version: '1.0.0' } });
    const frame = await client.next((f) => f.t === 'offer' && (f.offer as Frame).ruleId === 'whale-reengagement');
    offered = frame.offer as Frame;
  } finally {
    await client.close();
  }
  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
});

describe('shaped offers in the console', () => {
  it("shows the rule's price expression and bounds, and the price computed for a player with its inputs", async () => {
    // A quarter of 62.00, in steps of 0.50: 15.50, inside 9.99–29.99.
    expect(offered.price).toEqual({ amount: 1550, currency: 'USD' });

    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${pp.adminUrl}/`);
    await page.fill('#token', pp.config.adminToken);
    await page.click('#login');
    await page.waitForSelector('[data-shaped-rule="whale-reengagement"]');
    expect(await page.textContent('[data-shaped-rule="whale-reengagement"][data-shaped="price.amount"]')).toBe(
      'price.amount per player: double(player.revenue_30d) * 0.25, between 999 and 2999, rounded to 50; default 1999',
    );
    expect(await page.locator('[data-shaped-rule="comeback-bundle"]').count()).toBe(0);

    await page.goto(`${pp.adminUrl}/#/players/${encodeURIComponent(whale)}`);
    const line = page.locator('#decision-trail tr[data-rule="whale-reengagement"][data-outcome="offered"] [data-shaped="price.amount"]');
    await line.waitFor();
    expect(await line.getAttribute('data-shaped-outcome')).toBe('computed');
    expect(await line.textContent()).toBe('price.amount 1550: computed · from player.revenue_30d = 6200');
    expect(pageErrors).toEqual([]);
  });
});
