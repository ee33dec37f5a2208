// The connection policy (tabmq_core::ClientMachine) through the npm client, in headless
// Chromium, against Mosquitto and against the in-tab broker, which must observe the same:
// commands of every kind given before the connection exists wait for it and complete once
// each; `end(false, { reasonCode: 4 })` makes the broker send the will (MQTT 5); an unknown
// `tab://` parameter is refused with a coded error, as the Rust client refuses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { npmHarness } from './support/harness.mjs';

const h = npmHarness({ mosquittoConf: [] });

/** Runs the scenario in a fresh page against `url`, at protocol version `v`. */
async function scenario(url, v) {
  const page = await h.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${h.server.url}index.html`);
  const result = await page.evaluate(async ({ url, v }) => {
    const { connect, connectAsync } = await import('/tabmq/index.js');
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const seen = [];
    const watcher = await connectAsync(url, { clientId: `policy-watch-${v}`, protocolVersion: v });
    watcher.on('message', (topic, payload) => seen.push(`${topic}=${new TextDecoder().decode(payload)}`));
    await watcher.subscribeAsync('policy/#', { qos: 2 });
    const client = connect(url, {
      clientId: `policy-client-${v}`,
      protocolVersion: v,
      will: { topic: 'policy/will', payload: 'gone', qos: 1 },
    });
    const completions = [];
    const note = (what) => () => completions.push(what);
    // Given at once, before the connection exists: each waits for it.
    const done = Promise.all([
      client.subscribeAsync('policy-self/#', { qos: 1 }).then(note('subscribed')),
      client.publishAsync('policy/q0', 'zero', { qos: 0 }).then(note('published 0')),
      client.publishAsync('policy/q1', 'one', { qos: 1 }).then(note('published 1')),
      client.publishAsync('policy/q2', 'two', { qos: 2 }).then(note('published 2')),
      client.unsubscribeAsync('policy-none/#').then(note('unsubscribed')),
    ]);
    await done;
    await new Promise((resolve) => client.end(false, { reasonCode: 4 }, resolve));
    // The will, if any, and the last messages reach the watcher.
    for (let i = 0; i < 40 && !seen.some((s) => s.startsWith('policy/will')) && v === 5; i += 1) await sleep(50);
    await sleep(200);
    await watcher.endAsync();
    return { completions: completions.sort(), seen: seen.sort() };
  }, { url, v });
  await page.close();
  assert.deepEqual(errors, []);
  return result;
}

for (const v of [4, 5]) {
  test(`MQTT ${v === 5 ? '5' : '3.1.1'}: the in-tab broker and Mosquitto observe the same policy`, { timeout: 60_000 }, async () => {
    const viaMosquitto = await scenario(`ws://127.0.0.1:${h.mosquitto.ws}`, v);
    const inTab = await scenario(`tab://policy-${v}`, v);
    const expected = {
      completions: ['published 0', 'published 1', 'published 2', 'subscribed', 'unsubscribed'],
      seen: ['policy/q0=zero', 'policy/q1=one', 'policy/q2=two', ...(v === 5 ? ['policy/will=gone'] : [])],
    };
    assert.deepEqual(viaMosquitto, expected, 'Mosquitto');
    assert.deepEqual(inTab, expected, 'the in-tab broker');
  });
}

test('an unknown tab:// parameter is refused with INVALID_URL, as the Rust client refuses it', { timeout: 30_000 }, async () => {
  const page = await h.browser.newPage();
  await page.goto(`${h.server.url}index.html`);
  const error = await page.evaluate(async () => {
    const { connect } = await import('/tabmq/index.js');
    const client = connect('tab://policy?shraed');
    return new Promise((resolve) => client.once('error', (e) => resolve({ code: e.code, message: e.message })));
  });
  await page.close();
  assert.equal(error.code, 'INVALID_URL');
  assert.match(error.message, /unknown parameter "shraed"/);
});
