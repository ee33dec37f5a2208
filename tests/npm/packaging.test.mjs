// The packaging test: `npm pack`'s tarball installed into a fresh Vite 7 app (a copy of
// vite-app/), built with no plugin and no polyfill, loaded in headless Chromium, where it
// exchanges messages through the in-tab broker and through real Mosquitto.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { build } from 'vite';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startMosquitto } from '../interop/support/brokers.mjs';

const tarball = process.env.TABMQ_NPM_TARBALL;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
let app;
let server;
let browser;
let mosquitto;

before(async () => {
  assert.ok(tarball && existsSync(tarball), `TABMQ_NPM_TARBALL must name the packed tarball (${tarball})`);
  // Under tests/, so the build resolves Vite from tests/node_modules; removed after.
  app = mkdtempSync(path.join(here('.'), '.vite-app-'));
  cpSync(here('./vite-app'), app, { recursive: true });
  execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app, stdio: 'inherit' });
  mosquitto = await startMosquitto();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await server?.close();
  await mosquitto?.stop();
  if (app) rmSync(app, { recursive: true, force: true });
});

test('a Vite 7 app built with tabmq from its tarball talks MQTT in the tab and to Mosquitto', { timeout: 180_000 }, async () => {
  const warnings = [];
  await build({
    root: app,
    logLevel: 'silent',
    customLogger: { info() {}, warn: (m) => warnings.push(m), warnOnce: (m) => warnings.push(m), error: (m) => warnings.push(m), clearScreen() {}, hasErrorLogged: () => false, hasWarned: false },
    build: { outDir: path.join(app, 'dist'), emptyOutDir: true },
  });
  assert.deepEqual(warnings.filter((w) => /polyfill|Buffer|process|externalized/i.test(w)), [], 'no polyfill is asked for');
  server = await serveStatic(path.join(app, 'dist'));
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?broker=${encodeURIComponent(`ws://127.0.0.1:${mosquitto.ws}`)}`);
    const result = await page.evaluate(() => window.__result);
    assert.deepEqual(result, {
      inTab: { topic: 'vite/tab', payload: 'hello from tab', qos: 1 },
      mosquitto: { topic: 'vite/mosquitto', payload: 'hello from mosquitto', qos: 1 },
      retained: ['vite/tab=hello from tab'],
      deleted: true,
      retainedAfter: 0,
      messagesReceived: 1,
    });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
