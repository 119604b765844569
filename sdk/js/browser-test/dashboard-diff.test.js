// The dashboard's line diff (assets/dashboard/diff.js), as the configuration view shows it
// before a document is applied. The module has no imports, so it is loaded from its source.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { repoRoot } from './harness.js';

const source = readFileSync(path.join(repoRoot, 'crates/patchbay-server/assets/dashboard/diff.js'), 'utf8');
const { lineDiff } = await import(`data:text/javascript,${encodeURIComponent(source)}`);

const lines = (...numbers) => numbers.map((n) => `line ${n}`).join('\n');

test('a changed line is shown removed, then added, with three lines of context each side', () => {
  const before = lines(1, 2, 3, 4, 5, 6, 7, 8, 9);
  const after = before.replace('line 5', 'line five');
  assert.deepEqual(lineDiff(before, after), [
    ['same', 'line 2'], ['same', 'line 3'], ['same', 'line 4'],
    ['removed', 'line 5'], ['added', 'line five'],
    ['same', 'line 6'], ['same', 'line 7'], ['same', 'line 8'],
  ]);
});

test('lines kept between changes stay in place', () => {
  assert.deepEqual(lineDiff(lines(1, 2, 3), lines(0, 1, 3, 4)), [
    ['added', 'line 0'], ['same', 'line 1'], ['removed', 'line 2'], ['same', 'line 3'], ['added', 'line 4'],
  ]);
});

test('the same text has nothing removed or added', () => {
  const text = lines(1, 2, 3, 4, 5);
  assert.ok(lineDiff(text, text).every(([kind]) => kind === 'same'));
});

test('a change too large to align is shown as all removed, then all added', () => {
  const before = Array.from({ length: 2100 }, (_, i) => `a${i}`).join('\n');
  const after = Array.from({ length: 2100 }, (_, i) => `b${i}`).join('\n');
  const diff = lineDiff(before, after);
  assert.equal(diff.length, 4200);
  assert.deepEqual(diff[0], ['removed', 'a0']);
  assert.deepEqual(diff[2100], ['added', 'b0']);
});
