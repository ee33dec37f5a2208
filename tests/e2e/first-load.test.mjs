// What a first visit to the lab transfers: every file the page fetches from the built app
// until its clients are connected (page, styles, both wasm files, the workers' scripts),
// each gzipped at level 9 as a static host would serve it. The build under test is what
// `cargo xtask serve` serves by default: release, with wasm-opt. A debug build is about
// 9.8 MB and fails at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { LabPage } from './support/lab-page.mjs';
import { useLab } from './support/fixture.mjs';

const env = useLab();
const LIMIT = 400 * 1024;

test('the first load of the lab is at most 400 KB gzip, and the page works on it', async () => {
  const context = await env.browser.newContext();
  try {
    const page = await context.newPage();
    const fetched = new Set();
    // Workers' requests count too: the context sees every request of the page's origin.
    context.on('request', (r) => {
      const url = new URL(r.url());
      // A blob: URL (the client's timer worker) is made in the page and transfers nothing.
      if (url.protocol === 'http:' && url.origin === new URL(env.server.url).origin) fetched.add(url.pathname === '/' ? '/index.html' : url.pathname);
    });
    await page.goto(env.server.url);
    await new LabPage(page).waitUntilConnected();
    const rows = [...fetched].map((p) => {
      const file = path.join(process.env.TABMQ_DIST, decodeURIComponent(p));
      assert.ok(existsSync(file), `${p} was fetched and is in the build`);
      return [p, gzipSync(readFileSync(file), { level: 9 }).length];
    });
    rows.sort((a, b) => b[1] - a[1]);
    for (const [p, size] of rows) console.log(`# ${p.padEnd(44)} ${(size / 1024).toFixed(1).padStart(6)} KB gzip`);
    const total = rows.reduce((sum, [, size]) => sum + size, 0);
    console.log(`# first load: ${(total / 1024).toFixed(1)} KB gzip in ${rows.length} files (limit 400)`);
    assert.ok(rows.filter(([p]) => p.endsWith('.wasm')).length >= 2, 'the page and the broker worker loaded their wasm');
    assert.ok(total <= LIMIT, `the first load is ${(total / 1024).toFixed(1)} KB gzip, over 400 KB`);
  } finally {
    await context.close();
  }
});
