/**
 * npm run bench -- console [--n 1000000]
 *
 * The web console against a service holding N analogies (loopback only), in Debian's Chromium:
 * - time from "Apply filters" to the first rows of the new filter on screen (target < 300 ms),
 *   for a few filters, with the same query timed by a plain HTTP client as the baseline;
 * - scrolling the table to row 900,000 (of the unfiltered store): the requests the console
 *   makes and the rows they fetch (the rows before it must not be loaded);
 * - the initial JavaScript (the entry script and the modules it preloads), gzip'd (target <= 250 kB).
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Store } from '../src/index.js';
import { startService } from '../src/service/start.js';
import { CONSOLE_DIR } from '../src/service/console.js';
import { launchChromium } from '../test/console-browser.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

function initialScriptBytes(): { files: string[]; raw: number; gzip: number } {
  const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
  const files = [...html.matchAll(/<(?:script[^>]*\ssrc|link[^>]*rel="modulepreload"[^>]*\shref)="([^"]+\.js)"/g)].map((m) => m[1]);
  let raw = 0;
  let gzip = 0;
  for (const f of files) {
    const data = readFileSync(join(CONSOLE_DIR, f));
    raw += data.length;
    gzip += gzipSync(data, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export default async function consoleBench(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const target = Math.min(900_000, n - 1);
  const dir = scratchDir('console');
  try {
    const file = join(dir, 'analogies.jsonl');
    await writeAnalogyFile(file, n, 42);
    const storeDir = join(dir, 'store');
    const store = await Store.open(storeDir, { create: true });
    if (!(await store.contexts.list()).some((c) => c.name === 'default')) await store.contexts.create('default');
    await store.analogies.import(file, { context: 'default' });
    await store.close();

    process.env.LOG_LEVEL ??= 'warn';
    const service = await startService({ storeDir, host: '127.0.0.1', port: 0, rateLimit: false });
    const browser = await launchChromium(mkdtempSync(join(dir, 'chromium-')));
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const requests: Array<{ offset: number; limit: number }> = [];
      page.on('request', (r) => {
        const u = new URL(r.url());
        if (u.pathname === '/api/analogies') requests.push({ offset: Number(u.searchParams.get('offset') ?? 0), limit: Number(u.searchParams.get('limit') ?? 0) });
      });
      await page.goto(`${service.url}/#/analogies`);
      const status = page.getByTestId('total');
      await page.getByText(/[\d,]+ matching/).waitFor({ timeout: 120_000 });
      const list = page.getByRole('listbox', { name: /Matching analogies/ });

      // A filter change: from "Apply" to the first row of the new result on screen.
      const sample = (await (await fetch(`${service.url}/api/analogies?limit=50`)).json()) as { analogies: Array<{ source_domain: string; tags: string[] }> };
      const filters: Array<{ label: string; fill: Record<string, string>; query: string }> = [
        { label: 'min quality 0.5', fill: { 'Min quality': '0.5' }, query: 'min_quality=0.5' },
        { label: `domain ${sample.analogies[0].source_domain}`, fill: { 'Min quality': '', 'Domain (source or target)': sample.analogies[0].source_domain }, query: `domain=${encodeURIComponent(sample.analogies[0].source_domain)}` },
        { label: 'quality 0.2-0.3', fill: { 'Domain (source or target)': '', 'Min quality': '0.2', 'Max quality': '0.3' }, query: 'min_quality=0.2&max_quality=0.3' },
        { label: 'no filter', fill: { 'Min quality': '', 'Max quality': '' }, query: '' },
      ];
      const filterRuns: Array<Record<string, unknown>> = [];
      for (const f of filters) {
        for (const [label, value] of Object.entries(f.fill)) await page.getByLabel(label, { exact: true }).fill(value);
        const before = await list.getAttribute('data-filter-key');
        // Measured inside the page too (from the form's submit to the frame that shows the first
        // new row), apart from the driver's round trips.
        await page.evaluate((prev) => {
          const w = window as unknown as { benchStart?: number; benchShown?: number };
          w.benchStart = undefined;
          w.benchShown = undefined;
          document.querySelector('form.filters')?.addEventListener('submit', () => (w.benchStart = performance.now()), { capture: true, once: true });
          const check = () => {
            const box = document.querySelector('[role="listbox"]');
            const first = box?.querySelector('[role="option"][aria-posinset="1"]');
            if (box?.getAttribute('data-filter-key') !== prev && first != null && !/…/.test(first.textContent ?? '')) w.benchShown = performance.now();
            else requestAnimationFrame(check);
          };
          requestAnimationFrame(check);
        }, before);
        const t0 = performance.now();
        await page.getByRole('button', { name: 'Apply filters' }).click();
        // The first row of the new filter's result is on screen (the count may still be coming).
        await page.waitForFunction(
          (prev) => {
            const box = document.querySelector('[role="listbox"]');
            const first = box?.querySelector('[role="option"][aria-posinset="1"]');
            return box?.getAttribute('data-filter-key') !== prev && first != null && !/…/.test(first.textContent ?? '');
          },
          before,
          { timeout: 60_000, polling: 'raf' },
        );
        const ms = performance.now() - t0;
        await page.getByText(/[\d,]+ matching/).waitFor({ timeout: 60_000 });
        const countedMs = performance.now() - t0;
        // The baseline: the same two requests from a plain HTTP client, one after the other.
        const h0 = performance.now();
        await (await fetch(`${service.url}/api/analogies?limit=100&offset=0${f.query ? `&${f.query}` : ''}`)).arrayBuffer();
        const h1 = performance.now();
        await (await fetch(`${service.url}/api/analogies?limit=1&total=true${f.query ? `&${f.query}` : ''}`)).arrayBuffer();
        const h2 = performance.now();
        const inPage = await page.evaluate(() => {
          const w = window as unknown as { benchStart?: number; benchShown?: number };
          return w.benchStart !== undefined && w.benchShown !== undefined ? w.benchShown - w.benchStart : null;
        });
        filterRuns.push({
          filter: f.label,
          shown: await status.textContent(),
          first_rows_ms: Math.round(ms),
          first_rows_in_page_ms: inPage === null ? null : Math.round(inPage),
          counted_ms: Math.round(countedMs),
          http_page_ms: Math.round(h1 - h0),
          http_count_ms: Math.round(h2 - h1),
        });
      }

      // Scroll to row `target` of the whole store.
      requests.length = 0;
      const t0 = performance.now();
      await list.evaluate((el, row) => {
        const total = Number(el.querySelector('[role="option"]')?.getAttribute('aria-setsize'));
        const visible = el.clientHeight / 28;
        el.scrollTop = (row / (total - visible)) * (el.scrollHeight - el.clientHeight);
      }, target);
      const wanted = page.locator(`[role="option"][aria-posinset="${target + 1}"]`);
      await page.waitForFunction((pos) => {
        const row = document.querySelector(`[role="option"][aria-posinset="${pos}"]`);
        return row !== null && !/…/.test(row.textContent ?? '');
      }, target + 1, { timeout: 60_000 });
      const scrollMs = performance.now() - t0;
      const rowText = (await wanted.innerText()).replace(/\s+/g, ' ');
      const earliest = Math.min(...requests.map((r) => r.offset));
      const script = initialScriptBytes();
      report('console', {
        n,
        cpus: (await import('node:os')).availableParallelism(),
        filter_change: filterRuns,
        filter_change_median_ms: median(filterRuns.map((r) => r.first_rows_ms as number)),
        filter_change_in_page_median_ms: median(filterRuns.map((r) => r.first_rows_in_page_ms as number)),
        scroll: {
          to_row: target,
          ms: Math.round(scrollMs),
          requests: requests.length,
          rows_fetched: requests.reduce((s, r) => s + r.limit, 0),
          offsets: requests.map((r) => r.offset),
          earliest_offset: earliest,
          row_shown: rowText,
        },
        initial_js: { files: script.files, bytes: script.raw, gzip_bytes: script.gzip },
        target: {
          first_rows_under_300ms: filterRuns.every((r) => (r.first_rows_ms as number) < 300),
          first_rows_in_page_under_300ms: filterRuns.every((r) => (r.first_rows_in_page_ms as number) < 300),
          no_rows_before_loaded: earliest >= target - 1000,
          initial_js_gzip_at_most_250kB: script.gzip <= 250 * 1024,
        },
      });
    } finally {
      await browser.close();
      await service.close();
    }
  } finally {
    cleanup(dir);
  }
}
