// What tabmq's npm package adds to MQTT.js's API, in headless Chromium against real
// Mosquitto: a session kept in IndexedDB, reconnects that back off with jitter, the shared
// broker in the tab, bursts sent as one frame, and keepalive timers that do not depend on
// the page's. The drop-in suite cannot cover these: MQTT.js has none of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { freePort } from '../interop/support/brokers.mjs';
import { npmHarness } from './support/harness.mjs';

const h = npmHarness({ mosquittoConf: ['max_inflight_messages 0'] });

async function openPage(context) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${h.server.url}index.html`);
  return { page, errors };
}

/** Publishes at QoS 1 while no broker is reachable, so the message waits in the session,
 *  then closes the page. */
async function publishOffline(context, clientId, persist) {
  const { page, errors } = await openPage(context);
  await page.evaluate(async ({ url, clientId, persist }) => {
    const { connect } = await import('/tabmq/index.js');
    const client = connect(url, { clientId, clean: false, reconnectPeriod: 200, ...(persist ? { persist: 'indexeddb' } : {}) });
    client.on('error', () => {});
    client.publish('extras/kept', `kept by ${clientId}`, { qos: 1 });
    // Long enough for the session to be written (it is written before anything is sent).
    await new Promise((resolve) => setTimeout(resolve, 700));
  }, { url: `ws://127.0.0.1:${await freePort()}`, clientId, persist });
  await page.close();
  assert.deepEqual(errors, []);
}

/** Connects again with the same client id, now to Mosquitto, and leaves it a moment. */
async function resume(context, clientId, persist) {
  const { page, errors } = await openPage(context);
  await page.evaluate(async ({ url, clientId, persist }) => {
    const { connectAsync } = await import('/tabmq/index.js');
    const client = await connectAsync(url, { clientId, clean: false, ...(persist ? { persist: 'indexeddb' } : {}) });
    await new Promise((resolve) => setTimeout(resolve, 700));
    await client.endAsync();
  }, { url: `ws://127.0.0.1:${h.mosquitto.ws}`, clientId, persist });
  await page.close();
  assert.deepEqual(errors, []);
}

test('a session kept in IndexedDB carries a QoS 1 message published offline across a reload', { timeout: 60_000 }, async () => {
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mosquitto.tcp}`, { clientId: 'extras-watcher' });
  const got = [];
  watcher.on('message', (_topic, payload) => got.push(payload.toString()));
  await watcher.subscribeAsync('extras/kept', { qos: 1 });
  const context = await h.browser.newContext();
  try {
    await publishOffline(context, 'extras-kept', true);
    await publishOffline(context, 'extras-forgotten', false);
    await resume(context, 'extras-kept', true);
    await resume(context, 'extras-forgotten', false);
  } finally {
    await context.close();
    await watcher.endAsync();
  }
  // Without persistence the page's session died with it: that message is gone.
  assert.deepEqual(got, ['kept by extras-kept']);
});

test('reconnects back off with jitter while the broker is down, and resume when it is back', { timeout: 60_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const { page, errors } = await openPage(context);
    await page.evaluate(async ({ url }) => {
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync(url, { clientId: 'extras-backoff', reconnectPeriod: 100, reconnectPeriodMax: 800 });
      window.__events = [];
      for (const type of ['offline', 'reconnect', 'connect', 'close']) {
        client.on(type, () => window.__events.push([type, performance.now()]));
      }
      client.on('error', () => {});
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    await h.mosquitto.stop();
    await new Promise((resolve) => setTimeout(resolve, 4000));
    await h.mosquitto.start();
    await page.waitForFunction(() => window.__events.some(([type]) => type === 'connect'), null, { timeout: 10_000 });
    const events = await page.evaluate(() => window.__events);
    const attempts = events.filter(([type]) => type === 'reconnect').map(([, at]) => at);
    const gaps = attempts.slice(1).map((at, i) => at - attempts[i]);
    // At a fixed 100 ms, 4 s would hold some 40 attempts; doubling up to 800 ms, a dozen.
    assert.ok(attempts.length >= 3 && attempts.length <= 25, `attempts: ${attempts.length}`);
    // Each wait is random below a ceiling of at most 800 ms (plus a connect's own time).
    assert.ok(gaps.every((g) => g <= 800 + 300), `gaps: ${gaps.map(Math.round)}`);
    assert.ok(new Set(gaps.map((g) => Math.round(g / 10))).size > 1, `jittered gaps: ${gaps.map(Math.round)}`);
    assert.equal(events[0][0], 'close');
    assert.equal(events.at(-1)[0], 'connect');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('tab://NAME?shared: two tabs reach one broker, which startBroker inspects', { timeout: 60_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const a = await openPage(context);
    const b = await openPage(context);
    await a.page.evaluate(async () => {
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync('tab://extras?shared', { clientId: 'tab-a' });
      window.__got = [];
      client.on('message', (topic, payload, packet) => window.__got.push([topic, new TextDecoder().decode(payload), packet.qos]));
      await client.subscribeAsync('shared/#', { qos: 2 });
    });
    const view = await b.page.evaluate(async () => {
      const { connectAsync, startBroker } = await import('/tabmq/index.js');
      const client = await connectAsync('tab://extras?shared', { clientId: 'tab-b' });
      await client.publishAsync('shared/hello', 'from tab b', { qos: 2 });
      const broker = await startBroker({ name: 'extras', shared: true });
      const seen = await broker.inspect();
      return { shared: broker.shared, sessions: seen.sessions.map((s) => s.clientId).sort() };
    });
    await a.page.waitForFunction(() => window.__got.length > 0, null, { timeout: 5000 });
    assert.deepEqual(await a.page.evaluate(() => window.__got), [['shared/hello', 'from tab b', 2]]);
    assert.deepEqual(view, { shared: true, sessions: ['tab-a', 'tab-b'] });
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await context.close();
  }
});

test('a tab that crashes leaves the shared broker at once: its clients\' wills go out within seconds, not a keepalive later', { timeout: 60_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const watcher = await openPage(context);
    await watcher.page.evaluate(async () => {
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync('tab://gone?shared', { clientId: 'gone-watcher' });
      window.__wills = [];
      client.on('message', (topic, payload) => window.__wills.push([topic, new TextDecoder().decode(payload)]));
      await client.subscribeAsync('gone/#', { qos: 1 });
      window.__broker = await (await import('/tabmq/index.js')).startBroker({ name: 'gone', shared: true });
    });
    const doomed = await openPage(context);
    await doomed.page.addScriptTag({ path: new URL('../node_modules/mqtt/dist/mqtt.min.js', import.meta.url).pathname });
    await doomed.page.evaluate(async () => {
      const { connectAsync } = await import('/tabmq/index.js');
      const { tabSocket } = await import('/tabmq/tab-socket.js');
      const will = (who) => ({ topic: `gone/${who}`, payload: `${who} left`, qos: 1 });
      await connectAsync('tab://gone?shared', { clientId: 'gone-tabmq', keepalive: 60, will: will('tabmq') });
      // MQTT.js, which tabmq did not write, over the package's tabSocket.
      const other = window.mqtt.connect('ws://tab', {
        clientId: 'gone-mqttjs', keepalive: 60, reconnectPeriod: 0, will: will('mqttjs'),
        createWebsocket: () => tabSocket('tab://gone?shared'),
      });
      await new Promise((resolve, reject) => { other.once('connect', resolve); other.once('error', reject); });
    });
    const sessions = () => watcher.page.evaluate(async () => (await window.__broker.inspect()).sessions.map((s) => s.clientId).sort());
    assert.deepEqual(await sessions(), ['gone-mqttjs', 'gone-tabmq', 'gone-watcher']);
    // A crashed renderer runs no pagehide and says nothing on its ports; only the browser
    // knows it is gone, by the Web Lock it held.
    const cdp = await context.newCDPSession(doomed.page);
    const crashed = Date.now();
    // Page.crash never answers: its renderer is gone. Playwright reports the crash.
    const crash = new Promise((resolve) => doomed.page.once('crash', resolve));
    cdp.send('Page.crash').catch(() => {});
    await crash;
    // Keepalive is 60 s: 1.5 × 60 s would pass before the broker noticed on its own.
    await watcher.page.waitForFunction(() => window.__wills.length >= 2, null, { timeout: 10_000 });
    console.log(`# the crashed tab's wills arrived after ${Date.now() - crashed} ms`);
    assert.deepEqual((await watcher.page.evaluate(() => window.__wills)).sort(), [['gone/mqttjs', 'mqttjs left'], ['gone/tabmq', 'tabmq left']]);
    assert.deepEqual(await sessions(), ['gone-watcher']);
    assert.deepEqual(watcher.errors, []);
  } finally {
    await context.close();
  }
});

test('when the tab whose renderer ran the shared broker crashes, the npm client and MQTT.js over tabSocket learn it at once and reconnect to a broker started again', { timeout: 60_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    // The first tab starts the SharedWorker, which Chromium runs in that tab's process.
    const host = await openPage(context);
    await host.page.evaluate(async () => (await import('/tabmq/index.js')).startBroker({ name: 'restart', shared: true }));
    const user = await openPage(context);
    await user.page.addScriptTag({ path: new URL('../node_modules/mqtt/dist/mqtt.min.js', import.meta.url).pathname });
    await user.page.evaluate(async () => {
      const { connectAsync } = await import('/tabmq/index.js');
      const { tabSocket } = await import('/tabmq/tab-socket.js');
      window.__log = [];
      const ours = await connectAsync('tab://restart?shared', { clientId: 'restart-tabmq', keepalive: 60, reconnectPeriod: 100 });
      for (const type of ['close', 'connect']) ours.on(type, () => window.__log.push(`tabmq ${type}`));
      ours.on('message', (topic, payload) => window.__log.push(`tabmq got ${new TextDecoder().decode(payload)}`));
      await ours.subscribeAsync('restart/#', { qos: 1 });
      const other = window.mqtt.connect('ws://tab', {
        clientId: 'restart-mqttjs', keepalive: 60, reconnectPeriod: 100,
        createWebsocket: () => tabSocket('tab://restart?shared'),
      });
      await new Promise((resolve, reject) => { other.once('connect', resolve); other.once('error', reject); });
      for (const type of ['close', 'connect']) other.on(type, () => window.__log.push(`mqttjs ${type}`));
      window.__other = other;
    });
    const crashed = new Promise((resolve) => host.page.once('crash', resolve));
    (await context.newCDPSession(host.page)).send('Page.crash').catch(() => {});
    await crashed;
    const ended = Date.now();
    // Keepalive is 60 s: 1.5 × 60 s would pass before either noticed on its own.
    const expected = ['tabmq close', 'tabmq connect', 'mqttjs close', 'mqttjs connect'];
    await user.page.waitForFunction((expected) => expected.every((e) => window.__log.includes(e)), expected, { timeout: 10_000 });
    console.log(`# both clients were connected again ${Date.now() - ended} ms after the crash`);
    // The broker started again carries messages: tabmq's client subscribed again.
    await user.page.evaluate(() => window.__other.publishAsync('restart/after', 'after the crash', { qos: 1 }));
    await user.page.waitForFunction(() => window.__log.includes('tabmq got after the crash'), null, { timeout: 10_000 });
    assert.deepEqual(user.errors, []);
  } finally {
    await context.close();
  }
});

test('frames that arrive together are answered together: 500 PUBACKs leave in a few frames, and the messages in order', { timeout: 60_000 }, async () => {
  const COUNT = 500;
  const context = await h.browser.newContext();
  const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mosquitto.tcp}`, { clientId: 'extras-burst-pub' });
  try {
    const { page, errors } = await openPage(context);
    await page.evaluate(async ({ url }) => {
      window.__frames = 0;
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function countedSend(data) {
        window.__frames += 1;
        return send.call(this, data);
      };
      const { connectAsync } = await import('/tabmq/index.js');
      const sub = await connectAsync(url, { clientId: 'extras-burst-sub' });
      await sub.subscribeAsync('extras/burst', { qos: 1 });
      window.__got = [];
      sub.on('message', (_topic, payload) => window.__got.push(Number(new TextDecoder().decode(payload))));
      window.__frames = 0;
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    // The page's thread is held while every message reaches its socket, so their frames
    // wait in its task queue and are handled one after another, as under load.
    const held = page.evaluate(() => {
      const end = performance.now() + 1500;
      while (performance.now() < end);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await Promise.all(Array.from({ length: COUNT }, (_, i) => publisher.publishAsync('extras/burst', String(i), { qos: 1 })));
    await held;
    await page.waitForFunction((n) => window.__got.length >= n, COUNT, { timeout: 10_000 });
    const seen = await page.evaluate(() => ({ got: window.__got, frames: window.__frames }));
    console.log(`# ${seen.frames} frames for ${COUNT} PUBACKs`);
    assert.equal(seen.got.length, COUNT);
    assert.ok(seen.got.every((n, i) => n === i), 'QoS 1 messages arrive in order');
    // One frame per arriving frame would be 500.
    assert.ok(seen.frames <= COUNT / 10, `${seen.frames} frames for ${COUNT} PUBACKs`);
    assert.deepEqual(errors, []);
  } finally {
    await publisher.endAsync();
    await context.close();
  }
});

test("an acknowledgement waits for the application's answer: a message's PUBACK and the PUBLISH an async handler makes a few awaits later leave in one frame", { timeout: 60_000 }, async () => {
  const ROUNDS = 20;
  const context = await h.browser.newContext();
  const asker = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mosquitto.tcp}`, { clientId: 'extras-answer-ask' });
  try {
    const { page, errors } = await openPage(context);
    await page.evaluate(async ({ url }) => {
      // The first bytes of every frame the page sends.
      window.__sent = [];
      const send = WebSocket.prototype.send;
      WebSocket.prototype.send = function loggedSend(data) {
        window.__sent.push(Array.from(new Uint8Array(data.buffer ?? data, data.byteOffset ?? 0, data.byteLength)));
        return send.call(this, data);
      };
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync(url, { clientId: 'extras-answer' });
      await client.subscribeAsync('extras/question', { qos: 1 });
      // An answer a few awaits deep, as an async handler makes it.
      client.on('message', async (_topic, payload) => {
        const text = await Promise.resolve(payload.toString());
        await null;
        await null;
        client.publish('extras/answer', text, { qos: 1 });
      });
      window.__sent = [];
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    const answers = [];
    await asker.subscribeAsync('extras/answer', { qos: 1 });
    asker.on('message', (_topic, payload) => answers.push(payload.toString()));
    for (let i = 0; i < ROUNDS; i += 1) {
      const before = answers.length;
      await asker.publishAsync('extras/question', `q${i}`, { qos: 1 });
      const deadline = Date.now() + 5_000;
      while (answers.length === before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const sent = await page.evaluate(() => window.__sent);
    assert.equal(answers.length, ROUNDS);
    // A PUBACK (0x40, length 2) that leaves alone is the frame this change removed.
    const alone = sent.filter((f) => f.length === 4 && f[0] === 0x40);
    const joined = sent.filter((f) => f[0] === 0x40 && f[1] === 2 && (f[4] & 0xf0) === 0x30);
    assert.deepEqual(alone, [], 'no PUBACK leaves in a frame of its own');
    assert.equal(joined.length, ROUNDS, `PUBACK and PUBLISH joined in ${joined.length} of ${ROUNDS} frames`);
    assert.deepEqual(errors, []);
  } finally {
    await asker.endAsync();
    await context.close();
  }
});

test('an awaited QoS 0 publish leaves in the task that awaits it: a loop of 50 ends before a task queued as it began, and every message arrives in order', { timeout: 60_000 }, async () => {
  const COUNT = 50;
  const context = await h.browser.newContext();
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${h.mosquitto.tcp}`, { clientId: 'extras-seq-watch' });
  try {
    const got = [];
    await watcher.subscribeAsync('extras/seq', { qos: 0 });
    watcher.on('message', (_topic, payload) => got.push(Number(payload.toString())));
    const { page, errors } = await openPage(context);
    const taskRan = await page.evaluate(async ({ url, count }) => {
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync(url, { clientId: 'extras-seq' });
      // Past the connect's own burst.
      await new Promise((resolve) => setTimeout(resolve, 50));
      let ran = false;
      const channel = new MessageChannel();
      channel.port1.onmessage = () => (ran = true);
      channel.port2.postMessage(0);
      // The seeds' sequential loop: each publish waits for the one before. Waiting a task
      // per publish for a burst's end made each cost a task hop (0.15 ms against 0.06).
      for (let i = 0; i < count; i += 1) await client.publishAsync('extras/seq', String(i), { qos: 0 });
      const ranDuringLoop = ran;
      await client.endAsync();
      return ranDuringLoop;
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}`, count: COUNT });
    assert.equal(taskRan, false, 'the loop waited for a later task');
    const deadline = Date.now() + 5_000;
    while (got.length < COUNT && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepEqual(got, Array.from({ length: COUNT }, (_, i) => i));
    assert.deepEqual(errors, []);
  } finally {
    await watcher.endAsync();
    await context.close();
  }
});

test("an ended client stops listening to the browser's online/offline, and reconnect() listens again", { timeout: 60_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const { page, errors } = await openPage(context);
    const counts = await page.evaluate(async ({ url }) => {
      // The page's online/offline listeners, as [type, listener] pairs added and not removed.
      const live = new Map([['online', new Set()], ['offline', new Set()]]);
      const { addEventListener: add, removeEventListener: remove } = window;
      window.addEventListener = function counted(type, f, o) {
        live.get(type)?.add(f);
        return add.call(this, type, f, o);
      };
      window.removeEventListener = function counted(type, f, o) {
        live.get(type)?.delete(f);
        return remove.call(this, type, f, o);
      };
      const count = () => live.get('online').size + live.get('offline').size;
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync(url, { clientId: 'extras-online', reconnectPeriod: 0 });
      const seen = [count()];
      await client.endAsync();
      seen.push(count());
      const again = new Promise((resolve) => client.once('connect', resolve));
      client.reconnect();
      await again;
      seen.push(count());
      await client.endAsync();
      seen.push(count());
      return seen;
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    // Connected, ended, connected again, ended again.
    assert.deepEqual(counts, [2, 0, 2, 0]);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

/** Connects with a 1 s keepalive, then stops the page's own timers, as a throttled
 *  background tab would; after 7 s, the PINGREQs sent and whether the connection closed.
 *  With `noWorker`, the timer worker cannot start, so the timers are the page's. */
async function keepaliveWithoutPageTimers(noWorker, waitMs) {
  const context = await h.browser.newContext();
  try {
    const { page, errors } = await openPage(context);
    await page.evaluate(async ({ url, noWorker }) => {
      if (noWorker) {
        window.Worker = class NoWorker {
          constructor() {
            throw new Error('no workers here');
          }
        };
      }
      const { connectAsync } = await import('/tabmq/index.js');
      const client = await connectAsync(url, { clientId: `extras-keepalive-${noWorker}`, keepalive: 2, reconnectPeriod: 0 });
      window.__seen = { pings: 0, closed: false };
      client.on('packetsend', (packet) => {
        if (packet.cmd === 'pingreq') window.__seen.pings += 1;
      });
      client.on('close', () => {
        window.__seen.closed = true;
      });
      client.on('error', () => {});
      window.setTimeout = () => 0;
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}`, noWorker });
    // Keepalive 2 s rather than 1 s: on a loaded 2-core machine a PINGREQ may be half a
    // second late, which 1 s would not forgive. Mosquitto checks keepalives every few
    // seconds, not at once at 1.5 keepalives, so the control waits longer (until closed).
    const deadline = Date.now() + waitMs;
    let seen = await page.evaluate(() => window.__seen);
    while (Date.now() < deadline && !(noWorker && seen.closed)) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      seen = await page.evaluate(() => window.__seen);
    }
    assert.deepEqual(errors, []);
    return seen;
  } finally {
    await context.close();
  }
}

test("keepalive runs on the timer worker: with the page's own timers stopped, PINGREQs go out and the connection stays", { timeout: 90_000 }, async () => {
  const seen = await keepaliveWithoutPageTimers(false, 10_000);
  assert.ok(seen.pings >= 4, `${seen.pings} PINGREQs in 10 s at keepalive 2 s`);
  assert.equal(seen.closed, false);
  // The control: with no worker the timers fall back to the page's. The one armed before
  // they stopped may fire once; after it none does, and Mosquitto drops the connection
  // once its check finds it 1.5 keepalives late.
  const control = await keepaliveWithoutPageTimers(true, 25_000);
  assert.ok(control.pings <= 1, `${control.pings} PINGREQs`);
  assert.equal(control.closed, true);
});

test('a connectTimeout beyond setTimeout\'s range (2^31 ms) does not cut the connection at once', { timeout: 30_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const { page, errors } = await openPage(context);
    const seen = await page.evaluate(async ({ url }) => {
      const { connect } = await import('/tabmq/index.js');
      const client = connect(url, { clientId: 'extras-long-timeout', connectTimeout: 2 ** 32, reconnectPeriod: 0 });
      const events = [];
      for (const type of ['connect', 'close', 'error']) client.on(type, () => events.push(type));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const seen = { events: [...events], connected: client.connected };
      await client.endAsync();
      return seen;
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    assert.deepEqual(seen, { events: ['connect'], connected: true });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('init() with a wasm that does not load rejects with WASM_FAILED, and a later connect loads the packaged one (both builds)', { timeout: 30_000 }, async () => {
  const context = await h.browser.newContext();
  try {
    const { page, errors } = await openPage(context);
    const seen = await page.evaluate(async ({ url }) => {
      const { init, connectAsync } = await import('/tabmq/index.js');
      const failure = await init('/tabmq/no-such.wasm').then(() => null, (e) => ({ code: e.code, isError: e instanceof Error }));
      const client = await connectAsync(url, { clientId: 'extras-init-again', reconnectPeriod: 0 });
      const connected = client.connected;
      await client.endAsync();
      // The MQTT 5 build, loaded by the first protocolVersion 5 connection, from where
      // init's second argument says; its failure is the same, and so is the retry.
      await init(undefined, '/tabmq/no-such5.wasm');
      const failure5 = await connectAsync(url, { clientId: 'extras-init-5', reconnectPeriod: 0, protocolVersion: 5 })
        .then(() => null, (e) => ({ code: e.code, isError: e instanceof Error }));
      const client5 = await connectAsync(url, { clientId: 'extras-init-5', reconnectPeriod: 0, protocolVersion: 5 });
      const connected5 = client5.connected;
      await client5.endAsync();
      return { failure, connected, failure5, connected5 };
    }, { url: `ws://127.0.0.1:${h.mosquitto.ws}` });
    assert.deepEqual(seen, {
      failure: { code: 'WASM_FAILED', isError: true },
      connected: true,
      failure5: { code: 'WASM_FAILED', isError: true },
      connected5: true,
    });
    // The browser logs the missing file's 404; nothing else may go wrong.
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
