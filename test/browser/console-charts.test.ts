import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshots, type TestBrowser } from './chromium.ts';
import { loseThreeAndSeeTheOffer, offerablePlayer } from './sample-players.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { HOUR_MS } from '../helpers/time.ts';
import { testConfig } from '../helpers/stack.ts';
import { recordedEvents } from '../integration/backtest-events.ts';
import { produceRecorded, startPlayPulse, waitConsumed, type RunningPlayPulse } from '../integration/backtest-stack.ts';

/**
 * The console's charts in a real browser (as console.test.ts), with data from a real run:
 * the landing page's pipeline health follows recorded traffic of the sample game through
 * every role while it is open, then a rule's page draws its funnel per hour for each variant
 * (uPlot, canvas) and its lift against the holdout with the interval. With
 * PLAYPULSE_SCREENSHOTS=1 both pages are saved to docs/screenshots/.
 */
interface StatRow {
  ruleId: string;
  variant: string;
  offered: number;
  delivered: number;
  shown: number;
  purchased: number;
  lift: number | null;
  liftLow: number | null;
  liftHigh: number | null;
}

let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;
const { shot, discard } = screenshots(() => page);

/** How many pixels of the canvases under `selector` are drawn (not transparent). */
async function inkOf(selector: string): Promise<number> {
  return page.locator(`${selector} canvas`).evaluateAll((canvases) =>
    canvases.reduce((n, c) => {
      const canvas = c as HTMLCanvasElement;
      const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let ink = 0;
      for (let i = 3; i < data.length; i += 4) if ((data[i] ?? 0) > 0) ink += 1;
      return n + ink;
    }, 0),
  );
}

beforeAll(async () => {
  await buildConsole();
  pp = await startPlayPulse(testConfig());
  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
  discard();
});

describe('the console charts', () => {
  it('follow a real run live on the landing page, then draw a rule’s funnel per hour and its lift', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${pp.adminUrl}/`);
    await page.fill('#token', pp.config.adminToken);
    await page.click('#login');
    await page.waitForSelector('#pipeline #pulse-plot canvas');

    const history = recordedEvents({ players: 300, events: 6_000, start: Date.now() - 2 * HOUR_MS, spanMs: HOUR_MS, seed: 5 });
    await produceRecorded(pp.config, history);
    await waitConsumed(pp.config, `${pp.config.keyPrefix}-processors`, 120_000);
    // One player online, so the funnel has a delivered offer too.
    await loseThreeAndSeeTheOffer(pp, offerablePlayer('ana', 'comeback-bundle'));
    const peak = async () => JSON.parse((await page.getAttribute('#pipeline', 'data-peak')) ?? '{}') as { eventsPerSec?: number; decisionsPerSec?: number };
    await expect.poll(async () => (await peak()).eventsPerSec ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    // A chunk's events count when applied and its decisions when decided, after: a pulse sample can fall between the two.
    await expect.poll(async () => (await peak()).decisionsPerSec ?? 0, { timeout: 20_000 }).toBeGreaterThan(0);
    expect(Number(await page.getAttribute('#pipeline', 'data-samples'))).toBeGreaterThan(1);
    expect(await page.textContent('#pipeline .u-legend')).toContain('events/s');
    expect(await inkOf('#pulse-plot')).toBeGreaterThan(0);
    // Another tab and back: the table reloads with the run's counters, the chart keeps its samples.
    const samples = Number(await page.getAttribute('#pipeline', 'data-samples'));
    await page.click('nav a[data-tab="segments"]');
    await page.waitForSelector('#segments-table');
    await page.click('nav a[data-tab="rules"]');
    await page.waitForSelector('#pipeline #pulse-plot canvas');
    expect(Number(await page.getAttribute('#pipeline', 'data-samples'))).toBeGreaterThanOrEqual(samples);
    await shot('pipeline');

    const stats = (await pp.admin<{ rules: StatRow[] }>('GET', '/v1/stats/rules')).rules.filter((r) => r.ruleId === 'comeback-bundle' && r.variant !== '(holdout)');
    const a = stats.find((r) => r.variant === 'a');
    expect(a?.offered).toBeGreaterThan(0);
    expect(a?.delivered).toBeGreaterThan(0);
    await page.click('#rules-table a[data-charts="comeback-bundle"]');
    await page.waitForSelector('#rule-charts [data-funnel-variant="a"] canvas');
    for (const row of stats.filter((r) => r.offered > 0)) {
      const box = `#rule-charts [data-funnel-variant="${row.variant}"]`;
      const totals = JSON.parse((await page.getAttribute(box, 'data-totals')) ?? '{}') as Record<string, number>;
      expect(totals).toEqual({ offered: row.offered, delivered: row.delivered, shown: row.shown, purchased: row.purchased });
      expect(await page.textContent(`${box} .u-legend`)).toContain('purchased');
      expect(await inkOf(box)).toBeGreaterThan(0);
    }

    // The seeded run gives both arms exposed players and a holdout that spent.
    const withLift = stats.filter((r) => r.lift !== null);
    expect(withLift.length).toBeGreaterThan(0);
    expect(await page.locator('#lift-chart svg circle').count()).toBe(withLift.length);
    const shown = JSON.parse((await page.getAttribute('#lift-chart', 'data-lift')) ?? '[]') as { label: string; lift: number; low: number | null; high: number | null }[];
    expect(shown).toEqual(withLift.map((r) => ({ label: r.variant, lift: r.lift, low: r.liftLow, high: r.liftHigh })));
    expect(await page.locator('#lift-chart svg line[data-ci]').count()).toBe(withLift.filter((r) => r.liftLow !== null).length);
    await shot('rule-charts');
    expect(pageErrors).toEqual([]);
  }, 240_000);
});
