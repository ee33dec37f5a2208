// What a page with a ws:// client fetches from the built npm package: the files found by
// following the package's own imports from index.js (static imports, and the `new URL(...,
// import.meta.url)` of its timer worker and wasm), leaving out the broker's worker, which
// only tab:// and startBroker load. Shared by the size test and the size benchmark.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The files `file` pulls in: imports and URLs relative to it. */
function references(file) {
  const text = readFileSync(file, 'utf8');
  const found = new Set();
  for (const m of text.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+)["']/g)) found.add(m[1]);
  for (const m of text.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) found.add(m[1]);
  return [...found]
    .filter((ref) => !ref.includes('broker-worker'))
    .map((ref) => path.resolve(path.dirname(file), ref));
}

export function clientEntry(dir) {
  const seen = new Set();
  const queue = [path.join(dir, 'index.js')];
  while (queue.length > 0 && seen.size < 50) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    assert.ok(existsSync(file), `${file} is referenced but not in the package`);
    seen.add(file);
    if (file.endsWith('.js')) queue.push(...references(file));
  }
  return [...seen];
}

