// The drop-in test: one scenario suite written against MQTT.js's documented API
// (suite/scenarios.js) runs twice in headless Chromium against the same real Mosquitto,
// once importing `mqtt` and once importing `tabmq` (the package `cargo xtask npm` built).
// What a user observes must be the same.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { freePort } from '../interop/support/brokers.mjs';
import { npmHarness } from './support/harness.mjs';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const h = npmHarness({ routes: { '/mqtt/': here('../node_modules/mqtt/dist') } });

async function run(lib, prefix) {
  const context = await h.browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${h.server.url}index.html`);
    const ctx = {
      url: `ws://127.0.0.1:${h.mosquitto.ws}`,
      deadUrl: `ws://127.0.0.1:${await freePort()}`,
      prefix,
    };
    const results = await page.evaluate(async ({ lib, ctx }) => {
      const mqtt = await import(lib);
      const { runAll } = await import('/scenarios.js');
      return runAll(mqtt.default, ctx);
    }, { lib, ctx });
    // The prefix keeps the two runs' topics and client ids apart; it is not an observation.
    return { results: JSON.parse(JSON.stringify(results).replaceAll(prefix, 'PREFIX')), errors };
  } finally {
    await context.close();
  }
}

test('the same MQTT.js scenarios observe the same results with mqtt and with tabmq', { timeout: 600_000 }, async () => {
  const reference = await run('/mqtt/mqtt.esm.js', 'mqttjs');
  const ours = await run('/tabmq/index.js', 'tabmq');
  const names = Object.keys(reference.results);
  assert.ok(names.length >= 30, `at least 30 scenarios (${names.length})`);
  const broken = names.filter((n) => reference.results[n]?.failed);
  assert.deepEqual(broken.map((n) => [n, reference.results[n].failed]), [], 'every scenario passes with MQTT.js itself');
  const differing = names
    .filter((n) => JSON.stringify(reference.results[n]) !== JSON.stringify(ours.results[n]))
    .map((n) => ({ scenario: n, mqtt: reference.results[n], tabmq: ours.results[n] }));
  assert.deepEqual(differing, [], 'tabmq observes what MQTT.js observes');
  assert.deepEqual(ours.errors, []);
  console.log(`# ${names.length} scenarios agree`);
});
