// The packaging test: `npm pack`'s tarball installed into a fresh Vite 7 app (a copy of
// vite-app/), built with no plugin and no polyfill, loaded in headless Chromium, where it
// exchanges messages through the in-tab broker and through real Mosquitto.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startMosquitto } from '../interop/support/brokers.mjs';

const tarball = process.env.TABMQ_NPM_TARBALL;
const VITE = '7.3.8';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
let app;
let server;
let browser;
let mosquitto;

before(async () => {
  assert.ok(tarball && existsSync(tarball), `TABMQ_NPM_TARBALL must name the packed tarball (${tarball})`);
  // A fresh app of its own, with Vite and tabmq installed as a user would (Vite from the
  // registry, tabmq from the tarball); under tests/, removed after.
  app = mkdtempSync(path.join(here('.'), '.vite-app-'));
  cpSync(here('./vite-app'), app, { recursive: true });
  execFileSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', `vite@${VITE}`, tarball], { cwd: app, stdio: 'inherit', timeout: 240_000 });
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
  // Vite's defaults: no config file, no plugin.
  const log = execFileSync('node', [path.join(app, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.doesNotMatch(log, /polyfill|externalized for browser compatibility|Buffer is not defined/i, 'no polyfill is asked for');
  assert.match(log, /built in/);
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
