/**
 * The headless Chromium the console tests drive: a persistent context in a throwaway profile
 * directory, one page, generous timeouts for a shared machine. `close()` closes it and
 * deletes the profile.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

const CHROMIUM = process.env.PLAYPULSE_CHROMIUM ?? '/usr/bin/chromium';

export interface TestBrowser {
  readonly context: BrowserContext;
  readonly page: Page;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'playpulse-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  return {
    context,
    page,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Where a console test saves its pictures: docs/screenshots/ with PLAYPULSE_SCREENSHOTS=1,
 * else a throwaway folder (the shots are still taken, so the pages are still rendered).
 * `discard()` deletes the throwaway folder.
 */
export function screenshots(page: () => Page): { shot(name: string): Promise<void>; discard(): void } {
  const keep = process.env.PLAYPULSE_SCREENSHOTS === '1';
  const dir = keep ? resolve('docs/screenshots') : mkdtempSync(join(tmpdir(), 'playpulse-shots-'));
  return {
    async shot(name) {
      mkdirSync(dir, { recursive: true });
      await page().screenshot({ path: join(dir, `${name}.png`), fullPage: true });
    },
    discard() {
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the console at `adminUrl`, signing in with the admin token unless the tab already is;
 * collects the page's uncaught errors from then on into the list returned.
 */
export async function signIn(page: Page, adminUrl: string, token: string): Promise<string[]> {
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  await page.goto(`${adminUrl}/`);
  await page.waitForSelector('#token, #rules-table');
  if ((await page.locator('#token').count()) > 0) {
    await page.fill('#token', token);
    await page.click('#login');
  }
  return pageErrors;
}
