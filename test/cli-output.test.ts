/**
 * The CLI's output contract: without --json, tables and `key: value` summaries (no JSON); with
 * --json, exactly one JSON document (JSON lines for streams); a reader that closes the pipe
 * early (`| head`) ends the command quietly with status 0.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI_PATH, cli, cliOk, genAnalogies, tempDir, writeJsonl } from './helpers.js';

let store: string;
const N = 20_000;

before(() => {
  const dir = tempDir();
  store = join(dir, 's');
  cliOk(store, ['init']);
  cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), genAnalogies(N, 7, 'o-'))]);
  cliOk(store, ['concepts', 'add', 'lion', '--provider', 'hash', '--description', 'big cat']);
  cliOk(store, ['contexts', 'create', 'sci', '--description', 'science']);
});

/** The CLI without --json. */
function human(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI_PATH, '--store', store, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('without --json: tables with headers and key: value summaries, no JSON', () => {
  const cases: Array<[string[], RegExp]> = [
    [['contexts', 'list'], /^NAME\s+PARENT\s+DESCRIPTION/m],
    [['workflows', 'list'], /^WORKFLOW_ID\s+WORKFLOW_TYPE\s+STATUS/m],
    [['analogies', 'query', '--limit', '5'], /^ID\s+SOURCE_DOMAIN\s+TARGET_DOMAIN\s+QUALITY_SCORE/m],
    [['analogies', 'history', 'o-1'], /^VERSION\s+OP\s+UPDATED_AT/m],
    [['analogies', 'get', 'o-1'], /^source_domain: \S+$/m],
    [['concepts', 'list'], /^ID\s+SYNSET_ID\s+DESCRIPTION/m],
    [['concepts', 'get', 'default:lion'], /^description: big cat$/m],
    [['stats'], /^\s*CONTEXT\s+PARENT\s+ANALOGIES/m],
    [['contexts', 'create', 'sci', '--description', 'science'], /^name: sci$/m],
    [['embeddings', 'info'], /^context: default$/m],
  ];
  for (const [args, expected] of cases) {
    const r = human(args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, expected, `softlogic ${args.join(' ')}:\n${r.stdout.slice(0, 800)}`);
    assert.doesNotMatch(r.stdout, /[{}]|"\w+":/, `softlogic ${args.join(' ')} printed JSON:\n${r.stdout.slice(0, 800)}`);
  }
  const rows = human(['analogies', 'query', '--limit', '5']).stdout.trim().split('\n');
  assert.equal(rows.filter((l) => /^o-\d+\s/.test(l)).length, 5, 'one row per analogy');
  const stream = human(['analogies', 'stream', '--limit', '3']);
  assert.equal(stream.status, 0);
  assert.match(stream.stdout, /^ID\s+SOURCE_DOMAIN/);
  assert.equal(stream.stdout.trim().split('\n').length, 4, 'a header and three rows');
  assert.doesNotMatch(stream.stdout, /[{}]/);
  assert.match(stream.stderr, /3 record\(s\)/, 'the count is a note on stderr');
});

test('with --json: exactly one JSON document (one line), or JSON lines for streams', () => {
  for (const args of [['contexts', 'list'], ['workflows', 'list'], ['analogies', 'query', '--limit', '5'], ['analogies', 'get', 'o-1'], ['stats'], ['verify'], ['concepts', 'list']]) {
    const r = cli(store, args);
    assert.equal(r.status, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout.trim().split('\n').length, 1, `softlogic --json ${args.join(' ')} printed more than one line`);
    assert.equal(typeof JSON.parse(r.stdout), 'object');
    assert.equal(r.stderr, '', 'nothing on stderr with --json');
  }
  const lines = cli(store, ['analogies', 'stream', '--limit', '4']).stdout.trim().split('\n');
  assert.equal(lines.length, 4);
  for (const l of lines) assert.equal(typeof (JSON.parse(l) as { id: string }).id, 'string');
});

test('a pipe closed early (| head) ends every command quietly with status 0', () => {
  const commands = [
    '--json analogies stream',
    'analogies stream',
    '--json stream concept',
    '--json analogies query --limit 20000',
    'analogies query --limit 20000',
    '--json workflows list',
  ];
  for (const command of commands) {
    const script = `"${process.execPath}" "${CLI_PATH}" --store "${store}" ${command} | head -3 > /dev/null; echo "status=\${PIPESTATUS[0]}" >&2`;
    const r = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    assert.match(r.stderr, /status=0$/m, `softlogic ${command} | head -3: ${r.stderr.slice(0, 1500)}`);
    assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, `softlogic ${command} | head -3 printed a trace: ${r.stderr.slice(0, 1500)}`);
  }
});
