/**
 * End-to-end harness of the web console: a real service on a temporary store (port 0) and
 * Debian's Chromium driven by playwright-core. Without Chromium the tests skip, except under
 * CI=true, where a missing browser fails them (scripts/setup-debian.sh installs it).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startHarness, type Harness } from './service-helpers.js';
import type { ServerOptions } from '../src/service/server.js';

export const CHROMIUM = process.env.SOFTLOGIC_CHROMIUM ?? '/usr/bin/chromium';

/** The flags this machine needs: no GPU, no sandbox as root, and no background connections. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Where the console tests put their screenshots: the README's (docs/screenshots, committed) only
 * when SOFTLOGIC_UPDATE_SCREENSHOTS=1 asks for them, so that a test run leaves the checkout as it
 * was; otherwise a temporary directory (the screenshot is still taken: a page that cannot be
 * rendered fails the test).
 */
export const SCREENSHOT_DIR =
  process.env.SOFTLOGIC_UPDATE_SCREENSHOTS === '1' ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url)) : mkdtempSync(join(tmpdir(), 'softlogic-screenshots-'));

export interface ConsoleSession {
  h: Harness;
  page: Page;
  /** console errors and uncaught page errors seen so far */
  errors: string[];
  close(): Promise<void>;
}

/** Skips (or, in CI, fails) when the browser is missing; true when the test can go on. */
export function browserAvailable(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') assert.fail(`Chromium is missing at ${CHROMIUM}: run scripts/setup-debian.sh`);
  t.skip(`no Chromium at ${CHROMIUM} (scripts/setup-debian.sh installs it)`);
  return false;
}

/** Debian's Chromium with a fresh profile in `profile` (a new, empty directory). */
export function launchChromium(profile: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1360, height: 900 } });
}

export async function openConsole(options: Omit<ServerOptions, 'store'> = {}): Promise<ConsoleSession> {
  const h = await startHarness({ rateLimit: false, processInWorker: false, ...options });
  const profile = mkdtempSync(join(tmpdir(), 'softlogic-chromium-'));
  let context: BrowserContext;
  try {
    context = await launchChromium(profile);
  } catch (err) {
    await h.close();
    rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  // Nothing leaves the machine: every request goes to the service under test.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(h.base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    errors.push(`request to another host: ${url}`);
    return route.abort();
  });
  return {
    h,
    page,
    errors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
      await h.close();
    },
  };
}

/** Opens a console page by its hash route and waits for its heading. */
export async function visit(s: ConsoleSession, route: string, heading: string | RegExp): Promise<void> {
  await s.page.goto(`${s.h.base}/#/${route}`);
  await s.page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: AXE_SOURCE });
  const violations = (await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: unknown[] }> } }).axe;
    return (await axe.run(document, { resultTypes: ['violations'] })).violations;
  })) as AxeViolation[];
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`);
}

/** A screenshot of the page (for the README with SOFTLOGIC_UPDATE_SCREENSHOTS=1). */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}
