// What every end-to-end file needs: the built app served on a loopback port, Debian's
// Chromium, and (when asked) a real Mosquitto; all started before the file's tests and
// stopped after them.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { serveStatic } from './static-server.mjs';
import { launchChromium } from './browser.mjs';
import { LabPage } from './lab-page.mjs';
import { startMosquitto } from '../../interop/support/brokers.mjs';

/** Registers the hooks; the returned object's fields are set once `before` ran.
 *  `mosquitto`: false, or the options for `startMosquitto` (`{ log: true }`). */
export function useLab({ mosquitto = false } = {}) {
  const env = { server: null, browser: null, mosquitto: null };
  before(async () => {
    const dist = process.env.TABMQ_DIST;
    assert.ok(dist && existsSync(`${dist}/index.html`), `TABMQ_DIST must hold a built app (${dist})`);
    env.server = await serveStatic(dist);
    env.browser = await launchChromium();
    if (mosquitto) env.mosquitto = await startMosquitto([], mosquitto === true ? {} : mosquitto);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
    await env.mosquitto?.stop();
  });
  return env;
}

/** A fresh browser context on the lab at `query`, waiting until its clients are
 *  connected, with page errors collected so a test can assert there were none. */
export async function openLab(env, query = '') {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(15_000);
  await page.goto(`${env.server.url}${query}`);
  const lab = new LabPage(page);
  await lab.waitUntilConnected();
  return { context, page, lab, errors };
}
