// The size test: what a page with a ws:// client fetches, found by following the package's
// own imports from index.js (static imports, and the `new URL(..., import.meta.url)` of its
// timer worker and wasm), gzipped at level 9. The limit is 61 KB: 60 KB until the connection policy moved into
// the wasm (66.8 KB then, 60.0 KB once the client wasm went `no_std`, its property codec was written once per
// wire type and the JavaScript was bundled; issue 17 asks for 56, which is open work). The target is 35 KB.
// The broker's worker is left out (only tab:// and startBroker load it), and so is the IndexedDB session
// store, a chunk imported only with `persist`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { clientEntry } from './entry.mjs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';

const dir = process.env.TABMQ_NPM_DIR;
const LIMIT = 61 * 1024;

test('the client entry, as a page fetches it, is at most 61 KB gzip', () => {
  assert.ok(dir && existsSync(path.join(dir, 'package.json')), `TABMQ_NPM_DIR must name the built package (${dir})`);
  const files = clientEntry(dir);
  const sizes = files.map((f) => [path.relative(dir, f), gzipSync(readFileSync(f), { level: 9 }).length]);
  for (const [file, size] of sizes) console.log(`# ${file.padEnd(28)} ${(size / 1024).toFixed(1).padStart(6)} KB gzip`);
  const total = sizes.reduce((sum, [, size]) => sum + size, 0);
  console.log(`# total ${(total / 1024).toFixed(1)} KB gzip (limit 61, target 35)`);
  // The walk must have found the worker and the wasm, or it measured too little.
  assert.ok(sizes.some(([f]) => f.endsWith('timer-worker.js')), 'the timer worker is part of the entry');
  assert.ok(sizes.some(([f]) => f === 'index.js'), 'the entry module is part of the entry');
  assert.ok(sizes.some(([f]) => f.endsWith('.wasm')), 'the client wasm is part of the entry');
  assert.ok(!sizes.some(([f]) => f.includes('broker')), 'the broker is not part of the client entry');
  assert.ok(!sizes.some(([f]) => f.includes('session-store')), 'the IndexedDB store is loaded only with persist');
  assert.ok(total <= LIMIT, `the client entry is ${(total / 1024).toFixed(1)} KB gzip, over the 61 KB limit`);
});
