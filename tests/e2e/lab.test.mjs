// The lab end to end: the built app in Debian's Chromium, the broker in a Web Worker,
// a message published through the UI and shown by the subscriber.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { LabPage } from './support/lab-page.mjs';
import { useLab } from './support/fixture.mjs';

const env = useLab();

/** A fresh page on the lab, with page errors collected so a test can assert none. */
async function openLab() {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()} ${r.url()}`));
  page.setDefaultTimeout(15_000);
  await page.goto(env.server.url);
  const lab = new LabPage(page);
  await lab.waitUntilConnected();
  return { lab, errors, close: () => context.close() };
}

test('a message published through the UI reaches the subscriber with its topic and QoS', async () => {
  const { lab, errors, close } = await openLab();
  try {
    await lab.subscription.getByText('Subscribed to sensor/# (granted QoS 0)', { exact: true }).waitFor();
    const payload = `Temperature: ${randomUUID()}`;
    await lab.publish('sensor/temperature', payload);
    const message = lab.message(payload);
    await message.waitFor();
    assert.equal(await message.count(), 1, 'QoS 0 arrives at most once');
    assert.equal(await message.getByTestId('message-topic').textContent(), 'sensor/temperature');
    assert.equal(await message.getByTestId('message-qos').textContent(), 'QoS 0');
    assert.deepEqual(errors, []);
  } finally {
    await close();
  }
});

test('the subscriber sees only topics its filter matches', async () => {
  const { lab, close } = await openLab();
  try {
    const outside = `outside-${randomUUID()}`;
    const inside = `inside-${randomUUID()}`;
    await lab.publish('kitchen/temperature', outside);
    // Messages on one connection arrive in order, so once `inside` is shown, `outside`
    // would have been shown already had it matched.
    await lab.publish('sensor/kitchen', inside);
    await lab.message(inside).waitFor();
    assert.equal(await lab.message(outside).count(), 0);
  } finally {
    await close();
  }
});

test('a new filter with wildcards replaces the old one', async () => {
  const { lab, close } = await openLab();
  try {
    await lab.subscribeTo('home/+/temperature');
    const old = `old-${randomUUID()}`;
    const matched = `matched-${randomUUID()}`;
    await lab.publish('sensor/temperature', old);
    await lab.publish('home/kitchen/temperature', matched);
    const message = lab.message(matched);
    await message.waitFor();
    assert.equal(await message.getByTestId('message-topic').textContent(), 'home/kitchen/temperature');
    assert.equal(await lab.message(old).count(), 0, 'the old filter was unsubscribed');
  } finally {
    await close();
  }
});

test('effective QoS is the lower of the publish QoS and the subscription QoS', async () => {
  const { lab, close } = await openLab();
  try {
    await lab.subscribeTo('sensor/#', '1');
    const cases = [
      ['0', 'QoS 0'],
      ['1', 'QoS 1'],
      ['2', 'QoS 1'],
    ];
    for (const [published, shown] of cases) {
      const payload = `published-at-${published}-${randomUUID()}`;
      await lab.publish('sensor/qos', payload, published);
      const message = lab.message(payload);
      await message.waitFor();
      assert.equal(await message.count(), 1, `QoS ${published} arrives once`);
      assert.equal(await message.getByTestId('message-qos').textContent(), shown);
    }
  } finally {
    await close();
  }
});

test('the broker worker says "ready" first, then MQTT bytes cross its port as ArrayBuffers', async () => {
  const context = await env.browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(env.server.url);
    const result = await page.evaluate(async () => {
      const worker = new Worker('./broker-worker.js', { type: 'module' });
      const first = await new Promise((resolve) =>
        worker.addEventListener('message', (e) => resolve(e.data), { once: true }),
      );
      const channel = new MessageChannel();
      worker.postMessage({ type: 'connect' }, [channel.port2]);
      const reply = new Promise((resolve) => {
        channel.port1.onmessage = (e) => resolve(e.data);
      });
      // CONNECT: MQTT 3.1.1, clean session, keepalive 60, client id "probe".
      const connect = new Uint8Array([
        0x10, 0x11, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x05,
        0x70, 0x72, 0x6f, 0x62, 0x65,
      ]);
      channel.port1.postMessage(connect.buffer, [connect.buffer]);
      const data = await reply;
      worker.terminate();
      return {
        first,
        isArrayBuffer: data instanceof ArrayBuffer,
        bytes: Array.from(new Uint8Array(data)),
      };
    });
    assert.equal(result.first, 'ready');
    assert.ok(result.isArrayBuffer, 'bytes arrive as an ArrayBuffer');
    assert.deepEqual(result.bytes, [0x20, 0x02, 0x00, 0x00], 'CONNACK, accepted');
  } finally {
    await context.close();
  }
});

/** A page on the lab in `context`, connected to the broker at `brokerUrl`. */
async function openLabIn(context, brokerUrl) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.setDefaultTimeout(15_000);
  await page.goto(`${env.server.url}?broker=${encodeURIComponent(brokerUrl)}`);
  const lab = new LabPage(page);
  await lab.waitUntilConnected();
  return { lab, errors };
}

test('two tabs exchange messages through the shared broker (tab://lab?shared)', async () => {
  const context = await env.browser.newContext();
  try {
    const a = await openLabIn(context, 'tab://lab?shared');
    const b = await openLabIn(context, 'tab://lab?shared');
    const fromA = `from tab A ${randomUUID()}`;
    await a.lab.publish('sensor/shared', fromA, '1');
    await b.lab.message(fromA).waitFor();
    const fromB = `from tab B ${randomUUID()}`;
    await b.lab.publish('sensor/shared', fromB, '1');
    await a.lab.message(fromB).waitFor();
    // Each tab also hears its own, once: one broker, two subscribers.
    assert.equal(await a.lab.message(fromA).count(), 1);
    assert.equal(await b.lab.message(fromA).count(), 1);
    assert.deepEqual([...a.errors, ...b.errors], []);
  } finally {
    await context.close();
  }
});

test('without ?shared each tab has a broker of its own', async () => {
  const context = await env.browser.newContext();
  try {
    const a = await openLabIn(context, 'tab://lab');
    const b = await openLabIn(context, 'tab://lab');
    const mine = `only in tab A ${randomUUID()}`;
    await a.lab.publish('sensor/own', mine, '1');
    await a.lab.message(mine).waitFor();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await b.lab.message(mine).count(), 0, 'tab B has its own broker');
  } finally {
    await context.close();
  }
});

/** Publishes a retained message through the publisher card. */
async function publishRetained(lab, topic, payload) {
  await lab.publisher.getByLabel('Retain').check();
  await lab.publish(topic, payload, '1');
}

test('with persist=indexeddb the in-tab broker keeps retained messages across a reload', async () => {
  const context = await env.browser.newContext();
  try {
    const { lab, errors } = await openLabIn(context, 'tab://kept?persist=indexeddb');
    const payload = `kept ${randomUUID()}`;
    await publishRetained(lab, 'sensor/kept', payload);
    await lab.message(payload).waitFor();
    await lab.page.reload();
    await lab.waitUntilConnected();
    // A new broker worker, restored from IndexedDB: the subscriber gets the retained message.
    const restored = lab.message(payload);
    await restored.waitFor();
    assert.equal(await restored.count(), 1);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('without persist a reload starts the in-tab broker empty', async () => {
  const context = await env.browser.newContext();
  try {
    const { lab } = await openLabIn(context, 'tab://fleeting');
    const payload = `fleeting ${randomUUID()}`;
    await publishRetained(lab, 'sensor/fleeting', payload);
    await lab.message(payload).waitFor();
    await lab.page.reload();
    await lab.waitUntilConnected();
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(await lab.message(payload).count(), 0);
  } finally {
    await context.close();
  }
});

test('MQTT.js in the page reaches the in-tab broker through tabSocket and exchanges QoS 0, 1 and 2 with our client', async () => {
  const context = await env.browser.newContext();
  try {
    const { lab, errors } = await openLabIn(context, 'tab://lab?shared');
    await lab.subscribeTo('sensor/#', '2');
    await lab.page.addScriptTag({ path: new URL('../node_modules/mqtt/dist/mqtt.min.js', import.meta.url).pathname });
    // MQTT.js subscribes to js/# and publishes to sensor/fromjs at each QoS.
    const started = lab.page.evaluate(async () => {
      const { tabSocket } = await import('./tab-socket.js');
      const client = window.mqtt.connect('ws://tab', {
        clientId: 'mqttjs-in-page',
        protocolVersion: 5,
        reconnectPeriod: 0,
        createWebsocket: () => tabSocket('tab://lab?shared'),
      });
      window.jsReceived = [];
      client.on('message', (topic, payload, packet) => window.jsReceived.push([topic, payload.toString(), packet.qos]));
      await new Promise((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
      await client.subscribeAsync('js/#', { qos: 2 });
      for (const qos of [0, 1, 2]) await client.publishAsync('sensor/fromjs', `js qos ${qos}`, { qos });
      window.jsClient = client;
      return 'ok';
    });
    assert.equal(await started, 'ok');
    for (const qos of ['0', '1', '2']) {
      const m = lab.message(`js qos ${qos}`);
      await m.waitFor();
      assert.equal(await m.getByTestId('message-qos').textContent(), `QoS ${qos}`);
    }
    for (const qos of ['0', '1', '2']) await lab.publish('js/x', `tabmq qos ${qos}`, qos);
    await lab.page.waitForFunction(() => window.jsReceived.length >= 3, null, { timeout: 10_000 });
    const got = await lab.page.evaluate(() => window.jsReceived.sort((a, b) => a[2] - b[2]));
    assert.deepEqual(got, [['js/x', 'tabmq qos 0', 0], ['js/x', 'tabmq qos 1', 1], ['js/x', 'tabmq qos 2', 2]]);
    await lab.page.evaluate(() => window.jsClient.endAsync());
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
