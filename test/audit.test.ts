import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_PATH, cliErr, cliOk, tempDir } from './helpers.js';
import { analogy, startHarness } from './service-helpers.js';
import { Store } from '../src/index.js';

/**
 * The audit log read back (store.audit.list, `softlogic audit`, GET /api/audit): newest first,
 * filtered by workflow and event, bounded, and the same entries on all three.
 */

test('audit: library, CLI and REST list the same entries of a rolled-back lenient import, newest first', async () => {
  const h = await startHarness();
  try {
    const dir = tempDir();
    const lines = [JSON.stringify(analogy(1)), '{"id":"bad-1","source_domain":"x"}', JSON.stringify(analogy(2)), 'not json'];
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const imported = await h.store.analogies.import(file, { lenient: true });
    const id = imported.workflow.workflow_id;
    assert.equal(imported.rejected, 2);
    assert.equal(await h.store.analogies.count(), 2);
    await h.store.workflows.rollback(id);
    assert.equal(await h.store.analogies.count(), 0, 'the rollback deleted what the import made');
    await h.store.contexts.create('other');

    const library = await h.store.audit.list({ workflow_id: id });
    const events = library.map((e) => e.event);
    assert.equal(events[0], 'workflow_rolled_back', 'newest first');
    for (const e of ['workflow_created', 'import_rejected_lines', 'workflow_completed']) assert.ok(events.includes(e), `${e} in ${events.join(', ')}`);
    assert.ok(library.every((e) => e.workflow_id === id), 'only the entries of that workflow');
    const times = library.map((e) => e.time);
    assert.deepEqual(times, [...times].sort().reverse());
    const rejected = library.find((e) => e.event === 'import_rejected_lines');
    assert.equal(rejected?.rejected, 2);

    // The service names files under the store relative to it (it shows no server paths).
    const relative = (v: unknown) => JSON.parse(JSON.stringify(v).replaceAll(`${h.dir}/store/`, ''));
    const rest = (await (await fetch(`${h.base}/api/audit?workflow_id=${id}`)).json()) as { entries: unknown[] };
    assert.deepEqual(rest, relative({ entries: library }));
    const viaCli = cliOk(h.dir + '/store', ['audit', '--workflow', id]);
    assert.deepEqual(viaCli, { entries: library });

    // Event filter and limit; the unfiltered list also has the entries about no workflow.
    const one = await h.store.audit.list({ event: 'context_created', limit: 1 });
    assert.equal(one.length, 1);
    assert.equal(one[0].context, 'other');
    assert.deepEqual(cliOk(h.dir + '/store', ['audit', '--event', 'context_created', '--limit', '1']), { entries: one });
    assert.deepEqual(await (await fetch(`${h.base}/api/audit?event=context_created&limit=1`)).json(), { entries: one });
    const all = await h.store.audit.list();
    assert.equal(all[0].event, 'context_created');
    assert.ok(all.length > library.length);
    assert.deepEqual((await h.store.audit.list({ since: all[0].time })).map((e) => e.event)[0], 'context_created');
    assert.deepEqual(await h.store.audit.list({ since: new Date(Date.now() + 60_000).toISOString() }), []);

    // The table for people: time, event, workflow and a summary.
    const table = spawnSync(process.execPath, [CLI_PATH, '--store', `${h.dir}/store`, 'audit', '--workflow', id], { encoding: 'utf8' });
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^TIME\s+EVENT\s+WORKFLOW_ID\s+SUMMARY/);
    assert.match(table.stdout, /workflow_rolled_back\s+\S+\s+.*records_deleted=2/);

    // Bad input: the same error on each side.
    assert.equal(cliErr(h.dir + '/store', ['audit', '--limit', '0']).code, 'INVALID_INPUT');
    const bad = await fetch(`${h.base}/api/audit?limit=0`);
    assert.equal(bad.status, 400);
    await assert.rejects(() => h.store.audit.list({ limit: 0 }), /limit/);
    await assert.rejects(() => h.store.audit.list({ since: 'yesterday' }), /since/);
    // OpenAPI documents the route with its query and entry schema.
    const doc = (await (await fetch(`${h.base}/openapi.json`)).json()) as { paths: Record<string, { get?: { parameters?: Array<{ name: string }>; responses: Record<string, unknown> } }> };
    const route = doc.paths['/api/audit']?.get;
    assert.ok(route, 'GET /api/audit is in the OpenAPI document');
    assert.deepEqual(route.parameters?.map((p) => p.name).sort(), ['event', 'limit', 'since', 'workflow_id']);
    assert.match(JSON.stringify(route.responses['200']), /"entries".*"required":\["time","event"\]/);
    const unknown = await (await fetch(`${h.base}/api/audit?workflow_id=nope`)).json();
    assert.deepEqual(unknown, { entries: [] });
  } finally {
    await h.close();
  }
});

test('audit: a large log is read from its end (newest first, bounded), and a torn last line is skipped', async () => {
  const dir = join(tempDir(), 's');
  const store = await Store.open(dir, { create: true });
  try {
    const path = join(dir, 'audit.jsonl');
    // ~20 MB of old entries: the newest few must come back without reading them all.
    const old = JSON.stringify({ time: '2020-01-01T00:00:00.000Z', event: 'old_event', padding: 'x'.repeat(200) }) + '\n';
    appendFileSync(path, old.repeat(100_000));
    await store.contexts.create('c1');
    await store.contexts.create('c2');
    assert.ok(statSync(path).size > 20_000_000);
    const heapBefore = process.memoryUsage().heapUsed;
    const started = performance.now();
    const newest = await store.audit.list({ limit: 2 });
    const ms = performance.now() - started;
    assert.deepEqual(newest.map((e) => [e.event, e.context]), [['context_created', 'c2'], ['context_created', 'c1']]);
    assert.ok(process.memoryUsage().heapUsed - heapBefore < 10_000_000, 'it did not load the file');
    // Against what reading the whole log costs here and now (a loaded machine slows both): the
    // newest entries must come back in a small fraction of it.
    const wholeStarted = performance.now();
    const lines = readFileSync(path, 'utf8').split('\n');
    for (const line of lines) if (line) JSON.parse(line);
    const wholeMs = performance.now() - wholeStarted;
    assert.ok(ms < Math.max(200, wholeMs / 5), `reading the 2 newest of a 20 MB log took ${ms.toFixed(1)} ms, reading it all ${wholeMs.toFixed(1)} ms`);
    // An entry spanning the read chunks comes back whole.
    const long = { event: 'long_event', text: 'y'.repeat(200_000) };
    store.backend.audit.record(long);
    assert.equal((await store.audit.list({ limit: 1 }))[0].text, long.text);
    assert.equal((await store.audit.list({ event: 'old_event', limit: 1000 })).length, 1000);
    // A last line cut short (a process killed mid-write) is skipped, not an error.
    appendFileSync(path, '{"time":"2030-01-01T00:00:00.000Z","event":"torn');
    assert.equal((await store.audit.list({ limit: 1 }))[0].event, 'long_event');
  } finally {
    await store.close();
  }
});
