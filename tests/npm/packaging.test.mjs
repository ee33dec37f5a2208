// The packaging test: `npm pack`'s tarball installed into fresh apps (copies of vite-app/),
// built by Vite 7 and by webpack 5 with no plugin, no polyfill and no bundler config,
// loaded in headless Chromium, where each exchanges messages through the in-tab broker and
// through real Mosquitto.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startMosquitto } from '../interop/support/brokers.mjs';

const tarball = process.env.TABMQ_NPM_TARBALL;
const VITE = '7.3.8';
const WEBPACK = ['webpack@5.102.1', 'webpack-cli@6.0.1'];
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const apps = [];
const servers = [];
let browser;
let mosquitto;

/** A fresh app of its own under tests/ (removed after), with `deps` and tabmq installed
 *  as a user would: the bundler from the registry, tabmq from the tarball. */
function freshApp(deps) {
  const app = mkdtempSync(path.join(here('.'), '.vite-app-'));
  apps.push(app);
  cpSync(here('./vite-app'), app, { recursive: true });
  execFileSync('npm', ['install', '--no-package-lock', '--no-audit', '--no-fund', '--loglevel=error', ...deps, tarball], { cwd: app, stdio: 'inherit', timeout: 240_000 });
  return app;
}

before(async () => {
  assert.ok(tarball && existsSync(tarball), `TABMQ_NPM_TARBALL must name the packed tarball (${tarball})`);
  mosquitto = await startMosquitto();
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const server of servers) await server.close();
  await mosquitto?.stop();
  for (const app of apps) rmSync(app, { recursive: true, force: true });
});

/** Loads the built app from `dist` and checks what it did. */
async function runApp(dist) {
  const server = await serveStatic(dist);
  servers.push(server);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?broker=${encodeURIComponent(`ws://127.0.0.1:${mosquitto.ws}`)}`);
    const result = await page.evaluate(() => window.__result);
    assert.deepEqual(result, {
      inTab: { topic: 'vite/tab', payload: 'hello from tab', qos: 1, v5: false },
      mosquitto: { topic: 'vite/mosquitto', payload: 'hello from mosquitto', qos: 1, v5: true },
      retained: ['vite/tab=hello from tab'],
      deleted: true,
      retainedAfter: 0,
      messagesReceived: 1,
    });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
}

const NO_POLYFILL = /polyfill|externalized for browser compatibility|Buffer is not defined|Module not found|fallback/i;

test('a Vite 7 app built with tabmq from its tarball talks MQTT in the tab and to Mosquitto', { timeout: 300_000 }, async () => {
  const app = freshApp([`vite@${VITE}`]);
  // Vite's defaults: no config file, no plugin.
  const log = execFileSync('node', [path.join(app, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.doesNotMatch(log, NO_POLYFILL, 'no polyfill is asked for');
  assert.match(log, /built in/);
  await runApp(path.join(app, 'dist'));
});

test('a webpack 5 app built with tabmq from its tarball talks MQTT in the tab and to Mosquitto', { timeout: 300_000 }, async () => {
  const app = freshApp(WEBPACK);
  // No webpack.config.js: the entry and the mode on the command line, the rest webpack's defaults.
  const log = execFileSync('node', [path.join(app, 'node_modules/webpack-cli/bin/cli.js'), '--mode', 'production', '--entry', './main.js', '--output-path', 'dist'], { cwd: app, encoding: 'utf8', timeout: 120_000 });
  assert.doesNotMatch(log, NO_POLYFILL, 'no polyfill is asked for');
  assert.match(log, /compiled/);
  assert.doesNotMatch(log, /ERROR/);
  writeFileSync(path.join(app, 'dist', 'index.html'), '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>tabmq under webpack</title></head><body><script src="./main.js"></script></body></html>\n');
  await runApp(path.join(app, 'dist'));
});
