/**
 * The staging COPY text built from staged lines' bytes (copyLinesOf) is the text the row-by-row
 * encoding gives (the item's JSON through copyField): backslashes doubled, a tab or carriage
 * return between a verbatim item's members escaped, any UTF-8 passed through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StagedLines } from '../src/core/staged-lines.js';
import { copyField } from '../src/backend/postgres/postgres-copy.js';
import { copyLinesOf } from '../src/backend/postgres/postgres-staging.js';

function rowByRow(jsons: readonly string[], workflowId: string, first: number): string {
  return jsons.map((json, i) => `${copyField(workflowId)}\t${first + i}\t${copyField(json)}\n`).join('');
}

function bytesOf(jsons: readonly string[]): Buffer {
  const lines = new StagedLines();
  for (const json of jsons) lines.add(json);
  const bytes = lines.bytes();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

const CASES: Record<string, string[]> = {
  plain: ['{"id":"a","source_domain":"sea"}', '{"id":"b"}', '{}'],
  backslashes: ['{"id":"a\\\\b","x":"\\"q\\""}', '{"t":"tab\\there\\\\\\\\"}', '{"u":"\\u00e9"}', '{"id":"end\\\\"}'],
  'whitespace between members': ['{"id":"a",\t"x":1}', '{"id":"b",\r\n"x":2}'.replace('\n', ''), '{"y":"\\\\"}'],
  'beyond ASCII': ['{"id":"é😀","d":"海"}', '{"id":"\\\\😀"}'],
};

for (const [name, jsons] of Object.entries(CASES)) {
  test(`staging COPY text from bytes: ${name}`, () => {
    for (const first of [0, 4999, 1_234_567]) {
      const got = copyLinesOf(bytesOf(jsons), jsons.length, Buffer.from(`${copyField('wf-1')}\t`), first);
      assert.equal(got.toString('utf8'), rowByRow(jsons, 'wf-1', first));
    }
  });
}
