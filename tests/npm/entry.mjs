// What a page with a ws:// client fetches from the built npm package: the files found by
// following the package's own imports from index.js (static imports, the `new URL(...,
// import.meta.url)` of its timer worker and wasm, and the import() of the client build for
// the protocol version), leaving out the broker's worker, which only tab:// and startBroker
// load, and what is imported only on demand (the IndexedDB store, the other client build).
// Shared by the size test, the size benchmark and `cargo xtask npm`.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The chunk holding the client build's glue for `version`, as esbuild names it. */
const buildChunk = (version) => new RegExp(`^\\./tabmq_client${version === 5 ? '5' : ''}-[A-Z0-9]+\\.js$`);

/** The files `file` pulls in: imports and URLs relative to it. */
function references(file, version) {
  const text = readFileSync(file, 'utf8');
  const found = new Set();
  for (const m of text.matchAll(/(?:from|import)\s*["'](\.{1,2}\/[^"']+)["']/g)) found.add(m[1]);
  for (const m of text.matchAll(/new URL\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g)) found.add(m[1]);
  for (const m of text.matchAll(/import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g)) {
    if (buildChunk(version).test(m[1])) found.add(m[1]);
  }
  return [...found]
    .filter((ref) => !ref.includes('broker-worker'))
    .map((ref) => path.resolve(path.dirname(file), ref));
}

/** The files a page with a client of MQTT `version` (4, the default, or 5) fetches. */
export function clientEntry(dir, version = 4) {
  const seen = new Set();
  const queue = [path.join(dir, 'index.js')];
  while (queue.length > 0 && seen.size < 50) {
    const file = queue.shift();
    if (seen.has(file)) continue;
    assert.ok(existsSync(file), `${file} is referenced but not in the package`);
    seen.add(file);
    if (file.endsWith('.js')) queue.push(...references(file, version));
  }
  return [...seen];
}
