// What a busy or throttled page does to the lab's clients, which run on the page's thread
// (as the npm package's do) with their one timer in a tiny worker. These are the figures
// behind the README's "One design for browser threads".
//
// - A background tab: Chrome holds its timers back (intensive throttling: one wake-up a
//   minute), long enough for a broker to drop a client whose PINGREQ is late. With the
//   page's own setTimeout/setInterval dead, the clients keep pinging from the timer worker.
// - A stalled main thread: its socket buffers what arrives, and nothing leaves. A stall
//   shorter than the broker's slack (1.5 × keepalive, less the time since the last
//   packet) costs nothing; a longer one loses the connection, and the client reconnects
//   by itself, resubscribes, and receives again.
//
// We stall the page the strictest way there is: its main thread spins, so no page timer,
// message or event runs. (CDP's Page.setWebLifecycleState('frozen') did not stop page
// timers in headless Chromium when measured here.) Each case runs against real Mosquitto
// over WebSocket, which logs the PINGREQs it gets and the clients it drops, and against
// the in-tab broker.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { openLab, useLab } from './support/fixture.mjs';

const STALL_MS = 12_000;
// 1.5 × 30 s is more than 30 s of idling before the stall plus the stall.
const KEEPALIVE_SURVIVES = 30;
// Mosquitto drops a client after 1.5 × 4 s = 6 s of silence; the stall is twice that.
const KEEPALIVE_DROPPED = 4;
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

async function count(page) {
  return Number((await page.getByTestId('subscriber').getByTestId('received-count').textContent()).split(' ')[0]);
}

test('a background tab: with the page\'s own timers dead, keepalive still goes out from the timer worker (Mosquitto)', async () => {
  const broker = encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`);
  const { context, page, lab, errors } = await openLab(env, `?keepalive=${KEEPALIVE_DROPPED}&broker=${broker}`);
  try {
    const logMark = env.mosquitto.log().length;
    // What a throttled tab's timers amount to, and worse: none fire at all.
    await page.evaluate(() => {
      window.setTimeout = () => 0;
      window.setInterval = () => 0;
    });
    await new Promise((r) => setTimeout(r, 15_000));
    const pings = env.mosquitto.log().slice(logMark).filter((l) => l.includes('Received PINGREQ from tabmq-lab-'));
    assert.ok(pings.length >= 4, `both clients kept pinging (${pings.length} PINGREQs in 15 s)`);
    assert.deepEqual(dropsLogged(logMark), [], 'Mosquitto dropped none of our clients');
    for (const who of ['publisher', 'subscriber']) {
      assert.equal(await lab.status(who).getAttribute('data-state'), 'connected');
      assert.equal(await lab.status(who).getAttribute('data-connects'), '1', `${who} never reconnected`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

for (const keepalive of [KEEPALIVE_SURVIVES, KEEPALIVE_DROPPED]) {
  const survives = keepalive === KEEPALIVE_SURVIVES;
  test(`Mosquitto over WebSocket: keepalive ${keepalive} s, a ${STALL_MS / 1000} s main-thread stall ${survives ? 'costs nothing' : 'loses the connection, and the clients come back by themselves'}`, async () => {
    const broker = encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`);
    const { context, page, lab, errors } = await openLab(env, `?keepalive=${keepalive}&broker=${broker}`);
    const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.mosquitto.tcp}`, { clientId: `freeze-pub-${keepalive}`, reconnectPeriod: 0 });
    try {
      const logMark = env.mosquitto.log().length;
      const before = await count(page);
      // QoS 0 while the page is stalled: only a live connection can take them.
      const sent = [];
      let n = 0;
      const ticker = setInterval(() => {
        const payload = `stalled ${keepalive} #${++n}`;
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
        // The socket held what came meanwhile: every message, once.
        const received = page.getByTestId('subscriber').getByTestId('received-count');
        await received.getByText(`${before + sent.length} received`, { exact: true }).waitFor({ timeout: 10_000 });
        await lab.message(sent.at(-1)).waitFor();
        assert.deepEqual(dropsLogged(logMark), [], 'Mosquitto dropped none of our clients');
        for (const who of ['publisher', 'subscriber']) {
          assert.equal(await lab.status(who).getAttribute('data-state'), 'connected');
          assert.equal(await lab.status(who).getAttribute('data-connects'), '1', `${who} never reconnected`);
        }
      } else {
        const deadline = Date.now() + 10_000;
        while (dropsLogged(logMark).length < 2 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.equal(dropsLogged(logMark).length, 2, 'Mosquitto timed out both clients');
        // Back by themselves, subscribed again (the session was clean), and receiving.
        for (const who of ['publisher', 'subscriber']) {
          await page.locator(`[data-testid="status-${who}"][data-state="connected"][data-connects="2"]`).waitFor({ timeout: 20_000 });
        }
        const after = `after the stall ${keepalive}`;
        for (let i = 0; i < 50 && !(await lab.message(after).count()); i += 1) {
          publisher.publish('sensor/freeze', after, { qos: 0 });
          await new Promise((r) => setTimeout(r, 200));
        }
        await lab.message(after).first().waitFor({ timeout: 1_000 });
      }
      assert.deepEqual(errors, []);
    } finally {
      await publisher.endAsync();
      await context.close();
    }
  });
}

for (const keepalive of [KEEPALIVE_SURVIVES, KEEPALIVE_DROPPED]) {
  const survives = keepalive === KEEPALIVE_SURVIVES;
  test(`in-tab broker: keepalive ${keepalive} s, a ${STALL_MS / 1000} s main-thread stall ${survives ? 'costs nothing' : 'loses the connection, and the clients come back by themselves'}`, async () => {
    const { context, page, lab, errors } = await openLab(env, `?keepalive=${keepalive}`);
    try {
      await stallMainThread(page, STALL_MS);
      const expected = survives ? '1' : '2';
      // Without the stall's slack the broker worker's keepalive check closed the silent
      // clients' ports; they reconnected.
      for (const who of ['publisher', 'subscriber']) {
        await page.locator(`[data-testid="status-${who}"][data-state="connected"][data-connects="${expected}"]`).waitFor({ timeout: 20_000 });
      }
      await lab.publish('sensor/after-stall', `still here ${keepalive}`, '1');
      await lab.message(`still here ${keepalive}`).waitFor({ timeout: 10_000 });
      for (const who of ['publisher', 'subscriber']) {
        assert.equal(await lab.status(who).getAttribute('data-connects'), expected, who);
      }
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });
}
