/**
 * The web console in a real browser: every page loads with no console error and no serious or
 * critical axe-core violation; man : king :: woman : ? answers queen; the fields scatter shows
 * one point per concept, hover names it and a click opens it. Screenshots go to docs/screenshots.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMERCE_FRAMES_YAML, useTestGloveCache } from './helpers.js';
import { browserAvailable, openConsole, screenshot, seriousViolations, visit, type ConsoleSession } from './console-browser.js';

useTestGloveCache();

const WORDS = ['king', 'queen', 'man', 'woman', 'dog', 'cat', 'horse', 'apple', 'banana', 'customer', 'bread', 'coin'];

async function seed(s: ConsoleSession): Promise<void> {
  const { h } = s;
  if (!(await h.store.contexts.list()).some((c) => c.name === 'default')) await h.store.contexts.create('default');
  for (const name of WORDS) await h.store.concepts.add({ name }, { context: 'default' });
  const frames = await fetch(`${h.base}/api/frames?context=default`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: COMMERCE_FRAMES_YAML.replaceAll('shop:', 'default:') });
  assert.equal(frames.status, 201, await frames.text());
  const lines = Array.from({ length: 300 }, (_, i) =>
    JSON.stringify({ id: `seed-${i}`, source_domain: i % 3 === 0 ? 'music' : 'finance', target_domain: 'biology', quality_score: (i % 100) / 100, tags: [i % 2 ? 'odd' : 'even'] }),
  );
  const batch = await fetch(`${h.base}/api/analogies/batch`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: lines.join('\n') + '\n' });
  assert.equal(batch.status, 201, await batch.text());
}

async function checkPage(s: ConsoleSession, name: string): Promise<void> {
  assert.deepEqual(await seriousViolations(s.page), [], `axe on the ${name} page`);
  assert.deepEqual(s.errors, [], `console errors on the ${name} page`);
  await screenshot(s.page, name);
}

test('console: every page loads, is accessible, and shows the store', async (t) => {
  if (!browserAvailable(t)) return;
  const s = await openConsole();
  try {
    await seed(s);
    const { page } = s;

    await visit(s, 'overview', 'Overview');
    await page.getByRole('table').getByRole('row', { name: /default/ }).getByRole('cell', { name: '300', exact: true }).waitFor();
    await page.getByRole('link', { name: 'Commerce' }).count();
    await checkPage(s, 'overview');

    await visit(s, 'analogies', 'Analogies');
    await page.getByText('300 matching').waitFor();
    await page.getByRole('listbox', { name: /Matching analogies/ }).getByRole('option').first().getByText('0.990').waitFor();
    // The keyboard: the table takes the focus, the arrow keys move the selection and open the record.
    await page.getByRole('listbox', { name: /Matching analogies/ }).focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const second = (await page.locator('[role="option"][aria-posinset="2"] .mono').textContent()) ?? '';
    await page.getByRole('heading', { name: `Analogy ${second}` }).waitFor();
    assert.equal(await page.locator('[role="option"][aria-posinset="2"]').getAttribute('aria-selected'), 'true');
    await checkPage(s, 'analogies');

    await visit(s, 'import', 'Import analogies');
    await checkPage(s, 'import');

    await visit(s, 'workflows', 'Workflows');
    await page.getByRole('cell', { name: 'analogy_creation' }).first().waitFor();
    await page.getByLabel('Status').selectOption('rolled_back');
    await page.getByText('No workflows with status rolled_back.').waitFor();
    await page.getByLabel('Status').selectOption('');
    // Deletion by criteria: the dry run counts (and deletes nothing), then the delete button deletes that many.
    const active = async () => ((await (await fetch(`${s.h.base}/api/analogies?limit=1&total=true`)).json()) as { total: number }).total;
    await page.getByLabel('Domain', { exact: true }).fill('music');
    await page.getByRole('button', { name: 'Count matches (dry run)' }).click();
    await page.getByRole('status').getByText('100 analogies match.').waitFor();
    assert.equal(await active(), 300, 'a dry run deletes nothing');
    await checkPage(s, 'workflows');
    await page.getByRole('button', { name: 'Delete 100 analogies' }).click();
    await page.getByTestId('wf-status').getByText('completed').waitFor();
    await page.getByRole('heading', { name: /^Workflow / }).waitFor();
    assert.equal(await active(), 200, 'the confirmed deletion deleted the 100 matches');
    await page.getByRole('cell', { name: 'deletion_batch', exact: true }).waitFor();
    // Roll back from the detail: the console shows the state the store then reports.
    const wfId = ((await page.getByRole('heading', { name: /^Workflow / }).textContent()) ?? '').replace(/^Workflow\s*/, '');
    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByText('rollback: now rolled_back, 0 records deleted, 100 restored').waitFor();
    const after = (await (await fetch(`${s.h.base}/api/workflows/${wfId}`)).json()) as { status: string };
    assert.equal(after.status, 'rolled_back');
    await page.getByTestId('wf-status').getByText('rolled_back').waitFor();
    // The detail lists the workflow's audit entries (time, event, summary), newest first, as the store has them.
    const auditTable = page.getByRole('table', { name: 'Audit entries' });
    await auditTable.getByRole('cell', { name: 'workflow_rolled_back', exact: true }).waitFor();
    const audited = ((await (await fetch(`${s.h.base}/api/audit?workflow_id=${wfId}`)).json()) as { entries: Array<{ time: string; event: string }> }).entries;
    assert.deepEqual(audited.map((e) => e.event).slice(0, 1), ['workflow_rolled_back']);
    for (const event of ['analogies_deleted', 'workflow_completed']) assert.ok(audited.some((e) => e.event === event), `the store audited ${event}`);
    const shown = await auditTable.locator('tbody tr').evaluateAll((rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent ?? '')));
    assert.deepEqual(shown.map(([time, event]) => [time, event]), audited.map((e) => [e.time, e.event]), 'every audit entry of the workflow, newest first');
    assert.match(shown[0][2], /records_restored: 100/, 'the rollback entry says what it restored');
    await checkPage(s, 'workflows');

    await visit(s, 'concepts', 'Concepts');
    await page.getByRole('link', { name: 'queen', exact: true }).waitFor();
    await page.getByLabel('Name, description or gloss contains').fill('king');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('1 concepts').waitFor();
    await page.getByRole('link', { name: 'king', exact: true }).click();
    await page.getByRole('heading', { name: 'Concept default:king' }).waitFor();
    const neighbours = page.getByRole('table', { name: 'Nearest neighbours' });
    await neighbours.getByRole('cell', { name: 'queen', exact: true }).waitFor();
    await page.getByLabel('First').fill('cat');
    await page.getByLabel('Second').fill('dog');
    await page.getByRole('button', { name: 'Compare' }).click();
    const byMethod = page.getByRole('table', { name: 'Similarity by each method' });
    for (const method of ['cosine', 'euclidean', 'manhattan', 'hybrid']) await byMethod.getByRole('cell', { name: method, exact: true }).waitFor();
    // Add with the sense picker: the senses with glosses and the automatic choice where the
    // server lists them (GET /api/wordnet/senses), else a note that the automatic choice is used.
    await page.getByLabel('Name', { exact: true }).fill('bank');
    const doc = (await (await fetch(`${s.h.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    if (doc.paths['/api/wordnet/senses']) {
      await page.getByText('automatic choice').waitFor();
      assert.ok((await page.getByRole('radio').count()) > 3, 'every sense of bank can be picked');
    } else {
      await page.getByText('This server does not list WordNet senses').waitFor();
    }
    await page.getByRole('button', { name: 'Add concept' }).click();
    await page.getByText(/^Added default:bank/).waitFor();
    assert.ok(await s.h.store.concepts.find('bank', 'default'), 'the store has the new concept');
    await checkPage(s, 'concepts');

    await visit(s, 'playground', 'Analogy playground');
    await page.getByLabel('A', { exact: true }).fill('man');
    await page.getByLabel('B', { exact: true }).fill('king');
    await page.getByLabel('C', { exact: true }).fill('woman');
    await page.getByLabel('Scope').selectOption('vocabulary');
    await page.getByRole('button', { name: 'Complete' }).click();
    const answers = page.getByRole('table', { name: 'Answers, best first' });
    await answers.waitFor({ timeout: 60_000 });
    assert.equal(await answers.getByTestId('answer').first().textContent(), 'queen', 'man : king :: woman : ? is queen');
    // Accuracy per section of an uploaded questions-words file, as a bar chart and a table.
    await page.getByLabel(/Questions file/).setInputFiles({
      name: 'questions-words.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from(': family\nman woman king queen\nboy girl brother sister\n: capital-common-countries\nathens greece berlin germany\nparis france rome italy\n'),
    });
    await page.getByRole('button', { name: 'Evaluate' }).click();
    const perSection = page.getByRole('table', { name: 'Accuracy per section' });
    await perSection.getByRole('cell', { name: 'capital-common-countries' }).waitFor({ timeout: 60_000 });
    assert.equal(await perSection.getByRole('row').count(), 3, 'a header and one row per section');
    const bars = page.getByRole('img', { name: 'Accuracy per section' }).locator('g[aria-label="bar"] rect');
    await bars.first().waitFor();
    assert.equal(await bars.count(), 2, 'a bar per section');
    await page.getByText(/^Overall: \d/).waitFor();
    await checkPage(s, 'playground');

    await visit(s, 'fields', 'Semantic fields');
    await page.getByText('No fields yet').waitFor();
    await page.getByLabel('Number of fields (k)').fill('3');
    await page.getByRole('button', { name: 'Discover fields' }).click();
    await page.getByText(/coherence -?\d/).first().waitFor();
    const dots = page.locator('circle[data-concept]');
    await dots.first().waitFor();
    const concepts = await h(s).store.concepts.list('default');
    assert.equal(await dots.count(), concepts.length, 'one point per concept');
    assert.deepEqual((await dots.evaluateAll((els) => els.map((e) => e.getAttribute('data-concept')))).sort(), concepts.map((c) => c.id).sort());
    const legend = await page.locator('.plot').first().textContent();
    const fieldNames = ((await (await fetch(`${s.h.base}/api/fields`)).json()) as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
    for (const f of fieldNames) assert.ok(legend?.includes(f), `the legend names field ${f}`);
    await checkPage(s, 'fields');
    const queen = page.locator('circle[data-concept="default:queen"]');
    await queen.hover();
    assert.match((await queen.locator('title').textContent()) ?? '', /^queen/, 'hover names the point');
    await queen.click();
    await page.getByRole('heading', { name: 'Concept default:queen' }).waitFor();

    await visit(s, 'frames', 'Frames');
    await page.getByRole('link', { name: 'Commerce_buy' }).click();
    const instances = page.getByRole('table', { name: 'Instances of Commerce_buy' });
    await instances.getByRole('cell', { name: 'default:bread' }).waitFor();
    await page.getByRole('heading', { name: 'Core elements' }).waitFor();
    await checkPage(s, 'frames');
    assert.deepEqual(s.errors, []);
  } finally {
    await s.close();
  }
});

function h(s: ConsoleSession) {
  return s.h;
}
