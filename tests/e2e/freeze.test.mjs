// A page whose main thread stalls keeps its connections: the lab's clients run in the
// client worker, so their keepalive timers do not depend on the page.
//
// Chrome throttles a background tab's main-thread timers (intensive throttling: one
// wake-up a minute), and a busy or frozen page runs none at all. We stall the page the
// strictest way there is: its main thread spins for longer than the broker's keepalive
// limit (1.5 × keepalive), so no page timer, message or event runs. (CDP's
// Page.setWebLifecycleState('frozen') did not stop page timers in headless Chromium when
// measured here, so it proves nothing in this setting.)
//
// The control is the same lab with `?client=page`, whose clients run on the main thread:
// the broker must drop them. Each case runs against real Mosquitto over WebSocket, which
// logs the keepalive timeouts it enforces, and against the in-tab broker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { openLab, useLab } from './support/fixture.mjs';

// Mosquitto drops a client after 1.5 × keepalive of silence (6 s), checking every few
// seconds; the stall is twice that.
const KEEPALIVE = 4;
const STALL_MS = 12_000;
const env = useLab({ mosquitto: { log: true } });

/** Spins the page's main thread for `ms`: nothing else runs on it meanwhile. */
async function stallMainThread(page, ms) {
  const took = await page.evaluate((ms) => {
    const start = performance.now();
    while (performance.now() - start < ms) {
      // spin
    }
    return performance.now() - start;
  }, ms);
  assert.ok(took >= ms, `the main thread spun for ${took} ms`);
}

/** Mosquitto's log lines, since `since`, that say it dropped a lab client
 *  (`tabmq-lab-NAME-SUFFIX`). Over WebSocket, Mosquitto 2.0.11 logs a keepalive timeout
 *  as "closed its connection"; the stalled page cannot have closed anything itself. */
function dropsLogged(since) {
  return env.mosquitto
    .log()
    .slice(since)
    .filter((line) => /exceeded timeout|closed its connection/.test(line) && line.includes('tabmq-lab-'));
}

for (const where of ['worker', 'page']) {
  const survives = where === 'worker';
  test(`Mosquitto over WebSocket: with the clients in the ${where === 'worker' ? 'client worker' : "page's main thread (control)"}, a ${STALL_MS / 1000} s main-thread stall ${survives ? 'keeps' : 'loses'} the connection`, async () => {
    const broker = encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`);
    const { context, page, lab, errors } = await openLab(env, `?keepalive=${KEEPALIVE}&broker=${broker}&client=${where}`);
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.mosquitto.tcp}`, { clientId: `freeze-pub-${where}`, reconnectPeriod: 0 });
    try {
      const logMark = env.mosquitto.log().length;
      const before = Number((await page.getByTestId('subscriber').getByTestId('received-count').textContent()).split(' ')[0]);
      // QoS 0 while the page is stalled: only a live connection can take them.
      const sent = [];
      let n = 0;
      const ticker = setInterval(() => {
        const payload = `stalled ${where} #${++n}`;
        sent.push(payload);
        publisher.publish('sensor/freeze', payload, { qos: 0 });
      }, 300);
      try {
        await stallMainThread(page, STALL_MS);
      } finally {
        clearInterval(ticker);
      }
      assert.ok(sent.length >= 20, `published ${sent.length} during the stall`);
      if (survives) {
        // The page catches up on what the worker received meanwhile: every message, once.
        const received = page.getByTestId('subscriber').getByTestId('received-count');
        await received.getByText(`${before + sent.length} received`, { exact: true }).waitFor({ timeout: 10_000 });
        await lab.message(sent.at(-1)).waitFor();
        assert.deepEqual(dropsLogged(logMark), [], 'Mosquitto dropped none of our clients');
        const pings = env.mosquitto.log().slice(logMark).filter((l) => l.includes('Received PINGREQ from tabmq-lab-'));
        assert.ok(pings.length >= 2, `the worker kept pinging while the page was stalled (${pings.length} PINGREQs)`);
        for (const who of ['publisher', 'subscriber']) {
          assert.equal(await lab.status(who).getAttribute('data-state'), 'connected');
          assert.equal(await lab.status(who).getAttribute('data-connects'), '1', `${who} never reconnected`);
        }
      } else {
        // Mosquitto enforces keepalive on the silent main-thread clients.
        const deadline = Date.now() + 10_000;
        while (dropsLogged(logMark).length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(dropsLogged(logMark).length, 2, 'Mosquitto timed out both main-thread clients');
        await page.locator('[data-testid="status-subscriber"]:not([data-state="connected"])').waitFor();
      }
      assert.deepEqual(errors, []);
    } finally {
      await publisher.endAsync();
      await context.close();
    }
  });
}

for (const where of ['worker', 'page']) {
  const survives = where === 'worker';
  test(`in-tab broker: with the clients in the ${where === 'worker' ? 'client worker' : "page's main thread (control)"}, a ${STALL_MS / 1000} s main-thread stall ${survives ? 'keeps' : 'loses'} the connection`, async () => {
    const { context, page, lab, errors } = await openLab(env, `?keepalive=${KEEPALIVE}&client=${where}`);
    try {
      await stallMainThread(page, STALL_MS);
      if (survives) {
        await lab.publish('sensor/after-stall', 'still here', '1');
        await lab.message('still here').waitFor({ timeout: 10_000 });
        for (const who of ['publisher', 'subscriber']) {
          assert.equal(await lab.status(who).getAttribute('data-state'), 'connected');
          assert.equal(await lab.status(who).getAttribute('data-connects'), '1', `${who} never reconnected`);
        }
      } else {
        // The broker worker's keepalive check closed the silent clients' ports.
        for (const who of ['publisher', 'subscriber']) {
          await page.locator(`[data-testid="status-${who}"]:not([data-state="connected"])`).waitFor({ timeout: 10_000 });
        }
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
