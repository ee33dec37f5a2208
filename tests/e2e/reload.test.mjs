// Reloading the page in the middle of QoS 1 and QoS 2 flows, with the lab's clients keeping
// their sessions in IndexedDB (`?session=indexeddb`), against a real Mosquitto over
// WebSocket. A subscriber no one here wrote (MQTT.js under Node) counts what arrives.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { LabPage } from './support/lab-page.mjs';
import { useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: true });

async function waitUntil(condition, ms, what) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const qos of ['1', '2']) {
  test(`a reload in the middle of QoS ${qos} flows loses nothing${qos === '2' ? ', and nothing arrives twice' : ''}`, async () => {
    const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.mosquitto.tcp}`, { clientId: `reload-watch-${qos}`, reconnectPeriod: 0 });
    const got = [];
    watcher.on('message', (topic, payload) => got.push(payload.toString()));
    await watcher.subscribeAsync(`reload/q${qos}`, { qos: 2 });
    const context = await env.browser.newContext();
    try {
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.setDefaultTimeout(15_000);
      const broker = encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`);
      // One in flight at a time, each packet held back 20 ms (the lab's delay fault): the
      // burst takes seconds, so the reload comes mid-flow.
      await page.goto(`${env.server.url}?broker=${broker}&session=indexeddb&inflight=1&delay=20`);
      const lab = new LabPage(page);
      await lab.waitUntilConnected();
      const total = 60;
      await lab.publisher.getByLabel('Count').fill(String(total));
      await lab.publish(`reload/q${qos}`, `q${qos}`, qos);
      await waitUntil(() => got.length >= 3, 10_000, 'the first messages');
      const arrivedBefore = got.length;
      await page.reload();
      await lab.waitUntilConnected();
      const expected = Array.from({ length: total }, (_, i) => `q${qos} #${i + 1}`);
      await waitUntil(() => expected.every((p) => got.includes(p)), 20_000, `all ${total} messages (have ${new Set(got).size})`);
      await new Promise((r) => setTimeout(r, 300));
      console.log(`# QoS ${qos}: ${arrivedBefore} of ${total} had arrived at the reload`);
      assert.ok(arrivedBefore < total, `the reload came mid-flow (${arrivedBefore} of ${total} had arrived)`);
      if (qos === '2') {
        assert.equal(got.length, total, 'QoS 2: each exactly once');
      }
      assert.deepEqual([...new Set(got)].sort(), [...expected].sort());
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await watcher.endAsync();
    }
  });
}
