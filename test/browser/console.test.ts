import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, screenshots, type TestBrowser } from './chromium.ts';
import { loseThreeAndSeeTheOffer, offerablePlayer } from './sample-players.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { testConfig } from '../helpers/stack.ts';
import { recordedEvents } from '../integration/backtest-events.ts';
import { produceRecorded, startPlayPulse, waitConsumed, type RunningPlayPulse } from '../integration/backtest-stack.ts';

/**
 * The designer's day in a real browser (Debian's chromium driven by playwright-core) against
 * every role of PlayPulse: sign in with the admin token, open a rule, break its condition
 * with a type error and see it flagged inline, fix it, backtest the draft, look at the
 * diff, publish it, look up a player and read why they got their offer, roll back. On the
 * way, "promote to live" on a shadow rule opens the editor with the rule switched to live.
 * With PLAYPULSE_SCREENSHOTS=1 the main pages are saved to docs/screenshots/.
 */
const HOUR = 3_600_000;

let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;
let player: string;

const { shot, discard } = screenshots(() => page);

beforeAll(async () => {
  await buildConsole();
  pp = await startPlayPulse(testConfig());
  const history = recordedEvents({ players: 300, events: 6_000, start: Date.now() - 2 * HOUR, spanMs: HOUR, seed: 7 });
  await produceRecorded(pp.config, history);
  await waitConsumed(pp.config, `${pp.config.keyPrefix}-processors`, 120_000);

  player = offerablePlayer('ana', 'comeback-bundle');
  await loseThreeAndSeeTheOffer(pp, player);

  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
  discard();
});

describe('the designer console', () => {
  it("runs a designer's day: sign in, edit with inline errors, backtest, publish, explain a player, roll back, read the audit log and the segments", async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));

    await page.goto(`${pp.adminUrl}/`);
    await page.fill('#token', 'not-the-token');
    await page.click('#login');
    await expect.poll(() => page.textContent('#login-error')).toContain('not accepted');
    await shot('login');
    await page.fill('#token', pp.config.adminToken);
    await page.click('#login');

    await page.waitForSelector('#rules-table a[data-rule="comeback-bundle"]');
    await page.waitForSelector('tr[data-rule-row="win-streak-cosmetic"] .badge.shadow');
    // Variants a and control, and the global holdout (exposures and spend, for lift).
    const comebackRows = await page.locator('tr[data-rule-row="comeback-bundle"]').count();
    expect(comebackRows).toBe(3);
    const held = page.locator('tr[data-rule-row="comeback-bundle"][data-variant="(holdout)"]');
    expect(Number((await held.locator('td[data-cell="exposed"]').textContent())?.replace(/,/g, ''))).toBeGreaterThan(0);
    const stats = await pp.admin<{ rules: { ruleId: string; variant: string; lift: number | null; liftLow: number | null; liftHigh: number | null }[] }>('GET', '/v1/stats/rules');
    const a = stats.rules.find((r) => r.ruleId === 'comeback-bundle' && r.variant === 'a');
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;
    const liftCell = page.locator('tr[data-rule-row="comeback-bundle"][data-variant="a"] td[data-cell="lift"]');
    expect(await liftCell.locator('[data-lift]').textContent()).toBe(a?.lift == null ? '–' : pct(a.lift));
    if (a?.lift != null) {
      const ci = a.liftLow != null && a.liftHigh != null ? `${pct(a.liftLow)} … ${pct(a.liftHigh)}` : 'too few players';
      expect(await liftCell.locator('[data-lift-ci]').textContent()).toBe(ci);
    }
    await shot('rules');

    await page.click('button[data-promote="win-streak-cosmetic.yaml"]');
    await page.waitForSelector('#file-name:text("win-streak-cosmetic.yaml")');
    expect(await page.inputValue('#source')).toMatch(/^mode: live/m);
    await page.click('#revert');
    await expect.poll(() => page.inputValue('#source')).toMatch(/^mode: shadow/m);
    await page.click('nav a[data-tab="rules"]');

    await page.click('#rules-table a[data-rule="comeback-bundle"]');
    await page.waitForSelector('#file-name:text("comeback-bundle.yaml")');
    await expect.poll(() => page.textContent('#validation-status')).toMatch(/^valid/);
    const original = await page.inputValue('#source');
    expect(original).toContain("player.loss_streak >= 3'");

    await page.fill('#source', original.replace("player.loss_streak >= 3'", "player.loss_streak >= \"3\"'"));
    const error = page.locator('#diagnostics li[data-code="RULE_TYPE_ERROR"]');
    await error.first().waitFor();
    expect(await error.first().textContent()).toContain('comeback-bundle.yaml:9:');
    await page.waitForSelector('.gutter .err[data-line="9"]');
    expect(await page.isDisabled('#publish')).toBe(true);
    await shot('editor-error');

    await page.fill('#source', original.replace("player.loss_streak >= 3'", "player.loss_streak >= 4'"));
    await expect.poll(() => page.textContent('#validation-status')).toMatch(/^valid/);
    expect(await page.locator('#diagnostics li.error').count()).toBe(0);

    await page.click('#backtest-draft');
    await page.fill('#bt-from', '3h');
    await page.click('#bt-run');
    await page.waitForSelector('#bt-table tr[data-bt-rule="comeback-bundle"][data-bt-bundle="draft"]', { timeout: 90_000 });
    await page.waitForSelector('#bt-report svg.chart rect', { state: 'attached' });
    const draftOffers = Number((await page.locator('tr[data-bt-rule="comeback-bundle"][data-bt-variant="a"][data-bt-bundle="draft"] td[data-bt-offers]').textContent())?.replace(/,/g, ''));
    const publishedOffers = Number((await page.locator('tr[data-bt-rule="comeback-bundle"][data-bt-variant="a"][data-bt-bundle="published"] td[data-bt-offers]').textContent())?.replace(/,/g, ''));
    expect(publishedOffers).toBeGreaterThan(0);
    expect(draftOffers).toBeLessThanOrEqual(publishedOffers);
    await shot('backtest');

    await page.goto(`${pp.adminUrl}/#/editor/comeback-bundle.yaml`);
    await expect.poll(() => page.textContent('#validation-status')).toMatch(/^valid/);
    await page.click('#diff');
    await page.waitForSelector('#diff-output');
    expect(await page.textContent('#diff-output')).toContain('loss_streak >= 4');
    await shot('diff');
    await page.click('#publish');
    await expect.poll(() => page.textContent('#publish-result')).toContain('Published version 2');
    const live = await pp.admin<{ version: number; files: Record<string, string> }>('GET', '/v1/rules');
    expect(live.version).toBe(2);
    expect(live.files['comeback-bundle.yaml']).toContain('player.loss_streak >= 4');

    await page.click('nav a[data-tab="players"]');
    await page.fill('#player-id', player);
    await page.click('#player-go');
    await page.waitForSelector('#decision-trail');
    const why = page.locator('#decision-trail [data-event="loss-3"] tr[data-rule="comeback-bundle"]');
    expect(await why.getAttribute('data-outcome')).toBe('offered');
    expect(await why.textContent()).toContain('player.loss_streak = 3');
    const whyNot = page.locator('#decision-trail [data-event="loss-2"] tr[data-rule="comeback-bundle"]');
    expect(await whyNot.getAttribute('data-outcome')).toBe('condition_false');
    expect(await page.textContent('#player-props')).toContain('player.loss_streak');
    // A player with a handful of events is in the sample's `newcomers` segment.
    expect(await page.textContent('#player-props [data-segment="newcomers"]')).toBe('true');
    await shot('player');

    page.once('dialog', (d) => void d.accept());
    await page.goto(`${pp.adminUrl}/#/editor/comeback-bundle.yaml`);
    await page.click('#rollback');
    await expect.poll(() => page.textContent('#publish-result')).toContain('Rolled back');
    const back = await pp.admin<{ files: Record<string, string> }>('GET', '/v1/rules');
    expect(back.files['comeback-bundle.yaml']).toContain("player.loss_streak >= 3'");

    // The audit log: the publish and the rollback, newest first, by the token's name.
    await page.click('nav a[data-tab="audit"]');
    await page.waitForSelector('#audit-table tr[data-action="rollback"]');
    const audit = page.locator('#audit-table tbody tr');
    expect(await audit.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-action')))).toEqual(['rollback', 'publish']);
    const [rolledBack, published] = [await audit.nth(0).textContent(), await audit.nth(1).textContent()];
    expect(published).toContain('admin');
    expect(published).toContain('1 → 2');
    expect(published).toContain('rules changed: comeback-bundle');
    expect(rolledBack).toContain('2 → 3');
    expect(rolledBack).toContain('restores 1');
    await shot('audit');

    // The segments of the sample game: condition, cap, and the players counted today (the
    // player above is a newcomer; its decisions counted it).
    await page.click('nav a[data-tab="segments"]');
    await page.waitForSelector('#segments-table tr[data-segment="whales"]');
    const whales = await page.textContent('#segments-table tr[data-segment="whales"]');
    expect(whales).toContain('player.revenue_30d >= 5000');
    expect(whales).toContain('5');
    expect(await page.textContent('#segments-table tr[data-segment="newcomers"]')).toMatch(/≈ [1-9]/);
    await shot('segments');

    expect(pageErrors).toEqual([]);
  }, 240_000);
});
