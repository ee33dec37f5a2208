// What the npm package's Chromium suites share: the built package checked, a Mosquitto of
// their own, a static server for the suite page and the package, and headless Chromium,
// all started before the file's tests and stopped after them.

import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '../../e2e/support/static-server.mjs';
import { launchChromium } from '../../e2e/support/browser.mjs';
import { startMosquitto } from '../../interop/support/brokers.mjs';

/** Sets up the shared parts for the calling test file; their handles appear on the returned
 *  object once `before` has run. `mosquittoConf`: extra lines of Mosquitto's config;
 *  `routes`: more paths to serve, beside `/tabmq/` (the package). */
export function npmHarness({ mosquittoConf = [], routes = {} } = {}) {
  const npmDir = process.env.TABMQ_NPM_DIR;
  const h = { npmDir, server: null, browser: null, mosquitto: null };
  before(async () => {
    assert.ok(npmDir && existsSync(`${npmDir}/index.js`), `TABMQ_NPM_DIR must hold the built package (${npmDir})`);
    h.mosquitto = await startMosquitto(mosquittoConf);
    const suite = fileURLToPath(new URL('../suite', import.meta.url));
    h.server = await serveStatic(suite, { '/tabmq/': npmDir, ...routes });
    h.browser = await launchChromium();
  });
  after(async () => {
    await h.browser?.close();
    await h.server?.close();
    await h.mosquitto?.stop();
  });
  return h;
}
