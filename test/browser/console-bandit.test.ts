import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './chromium.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { compileBundle } from '../../designer/compile.ts';
import { readBundleDir } from '../../designer/load.ts';
import { assignVariant, offerIdFor } from '../../offers/engine/hashing.ts';
import type { EventRecord } from '../../protocol/record.ts';
import { testConfig } from '../helpers/stack.ts';
import { eventually } from '../integration/offers-fixtures.ts';
import { produceRecorded, startPlayPulse, waitConsumed, type RunningPlayPulse } from '../integration/backtest-stack.ts';

/**
 * The rules page shows each bandit arm's current share and posterior (in a real browser, as
 * console.test.ts), against every role of PlayPulse: the sample game published with the
 * bandit's warm-up cut to 5 offers per arm, players who play five matches and start a ranked
 * one (the bandit's trigger), and those offered the 1.99 price buy. Times are relative to now.
 */
const PLAYERS = 80;

let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;

interface StatsBody {
  rules: { ruleId: string; variant: string; offered: number; purchased: number; currency: string | null; bandit: { share: number; warmingUp: boolean; mean: number | null; low: number | null; high: number | null } | null }[];
}

beforeAll(async () => {
  await buildConsole();
  pp = await startPlayPulse(testConfig());
  const files = readBundleDir('offers/rules');
  files['ranked-booster.yaml'] = (files['ranked-booster.yaml'] ?? '').replace('warmup: 200', 'warmup: 5');
  await pp.admin('PUT', '/v1/rules', { files, message: 'short bandit warm-up' });
  const compiled = compileBundle(files);
  const rule = compiled.ok ? compiled.bundle.rules.find((r) => r.id === 'ranked-booster') : undefined;
  if (!rule) throw new Error('the sample rules lost ranked-booster');
  await eventually(async () => (pp.bundles.current().files['ranked-booster.yaml']?.includes('warmup: 5') ? true : undefined), 15_000, 'the published warm-up');

  const start = Date.now() - 30 * 60_000;
  const records: EventRecord[] = [];
  for (let p = 0; p < PLAYERS; p++) {
    const player = `bandit-${p}`;
    let t = start + p * 1_000;
    const push = (id: string, type: string, data: Record<string, unknown>) => records.push({ v: 1, player, id, type, data, recvAt: (t += 100), edge: 'edge-bt', session: `${player}-s` });
    for (let m = 0; m < 5; m++) push(`${player}-m${m}`, 'match.end', { result: 'draw', mode: 'ranked' });
    push(`${player}-start`, 'match.start', { mode: 'ranked' });
    // During warm-up the shares are the weights: the arm of a player is known in advance.
    if (assignVariant(player, rule)?.name === 'price-199') push(`${player}-buy`, 'offer.purchased', { offerId: offerIdFor('ranked-booster', player, `${player}-start`) });
  }
  await produceRecorded(pp.config, { records, from: start, to: start + PLAYERS * 1_000 + 1_000 });
  await waitConsumed(pp.config, `${pp.config.keyPrefix}-processors`, 120_000);

  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
});

describe('bandit arms on the rules page', () => {
  it("shows each arm's current share and its posterior mean with the 95% interval, as the stats API serves them", async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    const stats = await pp.admin<StatsBody>('GET', '/v1/stats/rules');
    const arms = stats.rules.filter((r) => r.ruleId === 'ranked-booster' && r.bandit !== null);
    expect(arms.map((a) => a.variant).sort()).toEqual(['control', 'price-199', 'price-299', 'price-399']);
    const cheap = arms.find((a) => a.variant === 'price-199');
    expect(cheap?.purchased).toBeGreaterThan(5);
    expect(cheap?.bandit?.warmingUp).toBe(false);
    // The arm that sold takes the bandit's part (90 %) but the two others' 5 % floors.
    expect(cheap?.bandit?.share).toBeGreaterThan(0.7);
    expect(arms.find((a) => a.variant === 'control')?.bandit?.share).toBeCloseTo(0.1, 6);
    expect(arms.reduce((s, a) => s + (a.bandit?.share ?? 0), 0)).toBeCloseTo(1, 6);

    await page.goto(`${pp.adminUrl}/`);
    await page.fill('#token', pp.config.adminToken);
    await page.click('#login');
    await page.waitForSelector('tr[data-rule-row="ranked-booster"][data-variant="price-199"] [data-bandit-share]');

    const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
    const money = (minor: number, currency: string | null) => `${(minor / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}${currency ? ` ${currency}` : ''}`;
    for (const arm of arms) {
      const cell = page.locator(`tr[data-rule-row="ranked-booster"][data-variant="${arm.variant}"] td[data-cell="bandit"]`);
      expect(await cell.locator('[data-bandit-share]').textContent(), arm.variant).toBe(pct(arm.bandit?.share ?? 0));
      const b = arm.bandit;
      const posterior =
        b?.mean == null || b.low == null || b.high == null ? 'holdout: fixed share' : `revenue / offer ${money(b.mean, arm.currency)} (${money(b.low, arm.currency)} … ${money(b.high, arm.currency)})`;
      expect(await cell.locator('[data-bandit-posterior]').textContent(), arm.variant).toBe(posterior);
    }
    expect(await page.locator('tr[data-rule-row="comeback-bundle"][data-variant="a"] td[data-cell="bandit"]').textContent()).toBe('–');
    expect(pageErrors).toEqual([]);
  });
});
