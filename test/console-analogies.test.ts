/**
 * The console's analogy work in a real browser: an import followed live to the end, filtering,
 * and a delete then restore from the detail panel, each checked against the store through the API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { browserAvailable, openConsole, screenshot, seriousViolations, visit } from './console-browser.js';

interface Page {
  count: number;
  total?: number;
  analogies: Array<{ id: string; source_domain: string; target_domain: string; deleted_at: string | null }>;
}

const KEY = 'console-test-key';

/** The browser logs each failed response itself: drop those of the expected status, keep anything else. */
function dropExpected(errors: string[], status: number): void {
  const rest = errors.filter((e) => !e.includes(`status of ${status}`));
  assert.ok(rest.length < errors.length, `the browser reported the expected ${status}`);
  errors.splice(0, errors.length, ...rest);
}
const auth = { headers: { authorization: `Bearer ${KEY}` } };

test('console: asks for the API key once per tab, imports with a live progress bar, filters, deletes and restores from the history', async (t) => {
  if (!browserAvailable(t)) return;
  const s = await openConsole({ batchSize: 500, apiKey: KEY });
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-console-import-'));
  try {
    const { page, h } = s;
    const refusedRows = async () => {
      const table = page.getByRole('table', { name: 'Refused lines' });
      await table.waitFor();
      return table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    };
    const count = async (q = '') => ((await (await fetch(`${h.base}/api/analogies?limit=1&total=true${q}`, auth)).json()) as Page).total;
    assert.equal(await count(), 0);

    // The key: asked on the first 401, asked again after a wrong one, then kept for the tab.
    await visit(s, 'overview', 'Overview');
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    await dialog.getByLabel('Key').fill('wrong-key');
    await dialog.getByRole('button', { name: 'Use key' }).click();
    await dialog.waitFor();
    await dialog.getByLabel('Key').fill(KEY);
    await dialog.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('heading', { name: 'Counts per context' }).waitFor();
    await page.getByText(/^[\d,]+ s$/).waitFor(); // the uptime, from /status (behind the key)
    assert.equal(await dialog.isVisible(), false);
    dropExpected(s.errors, 401);

    // A strict import of a file with bad lines is refused whole, and each refused line is listed.
    const badFile = join(dir, 'bad.jsonl');
    writeFileSync(
      badFile,
      '{"source_domain":"a","target_domain":"b","quality_score":0.5}\n{"source_domain":"a","target_domain":"b","quality_score":7}\nnot json\n{"source_domain":"a","quality_score":0.5}\n',
    );
    await visit(s, 'import', 'Import analogies');
    await page.getByLabel('Analogy file').setInputFiles(badFile);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByRole('alert').getByText('IMPORT_REJECTED').waitFor();
    const strictRows = await refusedRows();
    assert.deepEqual(
      strictRows.map(([line, field]) => [line, field]),
      [
        ['2', 'quality_score'],
        ['3', '(line)'],
        ['4', 'target_domain'],
      ],
      'every bad line of a strict refusal is listed',
    );
    assert.equal(strictRows[0][2], 'must be in [0,1]');
    assert.match(strictRows[1][2], /malformed JSON/);
    assert.equal(await count(), 0, 'nothing was imported');
    dropExpected(s.errors, 422);

    // Import: 30,000 lines, three of them invalid (lenient), 500 per commit.
    const n = 30_000;
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({ id: `im-${i}`, source_domain: i % 4 === 0 ? 'music' : 'finance', target_domain: i % 2 ? 'physics' : 'biology', quality_score: (i % 1000) / 1000, tags: ['imp'] }),
    );
    // A few bad lines (one with two bad fields): each is listed with its line number, field and reason.
    lines[41] = '{"id":"bad-1","source_domain":"x","target_domain":"y","quality_score":7}';
    lines[99] = '{"id":"bad-2",';
    lines[4999] = '{"id":"bad-3","source_domain":"x","quality_score":-1}';
    const file = join(dir, 'analogies.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    await visit(s, 'import', 'Import analogies');
    await page.getByLabel('Analogy file').setInputFiles(file);
    await page.getByTestId('chosen-file').waitFor();
    await page.getByLabel('lenient: set them aside').check();
    // Record every value the bar takes, as a person watching it would see it move.
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { barValues: string[] }).barValues = seen;
      new MutationObserver(() => {
        const bar = document.querySelector('progress');
        const v = bar?.getAttribute('data-value');
        if (v && seen.at(-1) !== v) seen.push(v);
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-value'] });
    });
    await page.getByRole('button', { name: 'Import' }).click();
    const result = page.getByTestId('import-result');
    await result.waitFor({ timeout: 120_000 });
    const values = (await page.evaluate(() => (window as unknown as { barValues: string[] }).barValues)).map(Number);
    assert.ok(values.some((v) => v > 0 && v < 100), `the bar moved through intermediate values: ${values.join(' ')}`);
    assert.equal(values.at(-1), 100);
    for (let i = 1; i < values.length; i++) assert.ok(values[i] >= values[i - 1], 'the bar never goes back');
    assert.match(await page.getByText(/items\/s/).first().textContent() ?? '', /\d items\/s/, 'the rate is shown');
    const text = await result.innerText();
    assert.match(text, /Status\s+completed/);
    assert.match(text, /Imported\s+29,997/);
    assert.match(text, /Refused lines\s+3/);
    const lenientRows = await refusedRows();
    assert.deepEqual(
      lenientRows.map(([line, field]) => [line, field]),
      [
        ['42', 'quality_score'],
        ['100', '(line)'],
        ['5000', 'target_domain'],
        ['5000', 'quality_score'],
      ],
    );
    assert.equal(lenientRows[0][2], 'must be in [0,1]');
    assert.match(lenientRows[1][2], /malformed JSON/);
    assert.match(await page.getByTestId('rejects-files').innerText(), /rejects\/\S+\.jsonl.*rejects\/\S+\.reasons\.jsonl/s);
    assert.equal(await page.getByTestId('refused-more').count(), 0, 'every refused line is listed');
    assert.deepEqual(await seriousViolations(page), [], 'axe on the import result with refused lines');
    await screenshot(page, 'import');
    assert.equal(await count(), n - 3, 'the store holds every valid line');
    for (const id of ['bad-1', 'bad-3']) assert.equal((await fetch(`${h.base}/api/analogies/${id}`, auth)).status, 404, `${id} was not imported`);
    assert.equal((await fetch(`${h.base}/api/analogies/im-40`, auth)).status, 200);

    // More refused lines than are listed: the first 100 reasons, and a note of how many more and where they all are.
    const manyBad = join(dir, 'many-bad.jsonl');
    const mixed = Array.from({ length: 160 }, (_, i) =>
      i < 150 ? `{"id":"nb-${i}","source_domain":"x","target_domain":"y","quality_score":9}` : JSON.stringify({ id: `ok-${i}`, source_domain: 'x', target_domain: 'y', quality_score: 0.5 }),
    );
    writeFileSync(manyBad, mixed.join('\n') + '\n');
    await page.getByLabel('Analogy file').setInputFiles(manyBad);
    await page.getByRole('button', { name: 'Import' }).click();
    await page.getByTestId('refused-more').waitFor({ timeout: 60_000 });
    await result.getByText('150', { exact: true }).waitFor();
    assert.match(await result.innerText(), /Imported\s+10\b/);
    assert.equal((await refusedRows()).length, 100);
    assert.match(await page.getByTestId('refused-more').innerText(), /…and 50 more refused lines not listed here: all are in rejects\/\S+\.reasons\.jsonl/);
    assert.equal(await count(), n - 3 + 10, 'the store also holds the 10 valid lines of the second file');

    // Filtering: the domain and quality filters show what the API counts.
    await visit(s, 'analogies', 'Analogies');
    await page.getByText('30,007 matching').waitFor();
    await page.getByLabel('Domain (source or target)').fill('music');
    await page.getByLabel('Min quality').fill('0.9');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const expected = await count('&domain=music&min_quality=0.9');
    assert.ok(expected && expected > 0 && expected < n / 4);
    await page.getByText(`${new Intl.NumberFormat('en').format(expected)} matching`).waitFor();
    const list = page.getByRole('listbox', { name: /Matching analogies/ });
    const rows = await list.getByRole('option').allInnerTexts();
    assert.ok(rows.length > 5);
    for (const r of rows) assert.match(r, /music/, 'every row shown is in the music domain');

    // Delete, then restore from the detail panel; the history shows each version.
    const first = list.getByRole('option').first();
    const id = (await first.locator('.mono').textContent()) ?? '';
    assert.match(id, /^im-\d+$/);
    await first.click();
    await page.getByRole('heading', { name: `Analogy ${id}` }).waitFor();
    await page.getByTestId('record-state').getByText('active').waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByTestId('record-state').getByText(/^deleted /).waitFor();
    const record = async () => (await (await fetch(`${h.base}/api/analogies/${id}`, auth)).json()) as { deleted_at: string | null; version: number };
    assert.notEqual((await record()).deleted_at, null, 'the store has it deleted');
    assert.equal(await count('&domain=music&min_quality=0.9'), expected - 1);
    const history = page.getByRole('list', { name: 'Versions, newest first' });
    await history.getByRole('listitem').nth(1).waitFor();
    assert.equal(await history.getByRole('listitem').count(), 2);
    await page.getByRole('table', { name: 'Differences between the two versions' }).getByRole('rowheader', { name: 'deleted_at' }).waitFor();
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.getByTestId('record-state').getByText('active').waitFor();
    await history.getByRole('listitem').nth(2).waitFor();
    assert.equal((await record()).deleted_at, null, 'the store has it back');
    assert.equal((await record()).version, 3);
    assert.equal(await count('&domain=music&min_quality=0.9'), expected);
    await screenshot(page, 'analogy-detail');
    assert.equal(await page.getByRole('dialog', { name: 'API key' }).isVisible(), false, 'the key was asked once for the tab');
    assert.deepEqual(s.errors, []);
  } finally {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
