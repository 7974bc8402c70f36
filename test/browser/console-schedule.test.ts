import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, type TestBrowser } from './chromium.ts';
import { buildConsole } from '../../offers/console/build.ts';
import { readBundleDir } from '../../designer/load.ts';
import { testConfig } from '../helpers/stack.ts';
import { startPlayPulse, type RunningPlayPulse } from '../integration/backtest-stack.ts';

/**
 * The rules page shows each rule's schedule and whether it holds now (in a real browser,
 * as console.test.ts): the sample game plus a rule in its schedule and one whose schedule
 * starts tomorrow, published through the admin API. Times are relative to now.
 */
const HOUR = 3_600_000;

let pp: RunningPlayPulse;
let browser: TestBrowser | undefined;
let page: Page;
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
  browser = await launchChromium();
  page = browser.page;
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await pp?.stop();
});

describe('schedules on the rules page', () => {
  it("shows each scheduled rule's windows and whether it is active now", async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${pp.adminUrl}/`);
    await page.fill('#token', pp.config.adminToken);
    await page.click('#login');
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
