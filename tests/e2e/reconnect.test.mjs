// The lab's clients when the broker goes away and comes back:
// Mosquitto is stopped and started again on the same ports. They report it, wait with
// backoff rather than storm, reconnect, and receive again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { openLab, useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: { log: true } });

test('after the broker restarts, the clients reconnect with backoff and receive again', async () => {
  const { context, page, lab, errors } = await openLab(env, `?broker=${encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`)}`);
  try {
    const mosquitto = env.mosquitto;
    await mosquitto.stop();
    for (const who of ['publisher', 'subscriber']) {
      await page.locator(`[data-testid="status-${who}"]:not([data-state="connected"])`).waitFor();
    }
    // Down for a while: attempts back off (1 s, then up to 2 s, 4 s ... with jitter).
    await new Promise((r) => setTimeout(r, 3_000));
    const mark = mosquitto.log().length;
    await mosquitto.start();
    for (const who of ['publisher', 'subscriber']) {
      await page.locator(`[data-testid="status-${who}"][data-state="connected"][data-connects="2"]`).waitFor({ timeout: 20_000 });
    }
    const connects = mosquitto.log().slice(mark).filter((l) => /New client connected .* as tabmq-lab-/.test(l));
    assert.equal(connects.length, 2, `one reconnect per client, no storm:\n${connects.join('\n')}`);
    // The subscription came back with the new (clean) session.
    const node = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.tcp}`, { clientId: 'reconnect-pub', reconnectPeriod: 0 });
    try {
      const deadline = Date.now() + 10_000;
      let seen = false;
      while (!seen && Date.now() < deadline) {
        await node.publishAsync('sensor/back', 'back again', { qos: 1 });
        seen = await lab.message('back again').first().isVisible();
        if (!seen) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(seen, 'a message published after the restart reached the subscriber');
    } finally {
      await node.endAsync();
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
