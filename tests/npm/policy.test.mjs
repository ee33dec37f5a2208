// The shared connection-policy scenario (tests/scenarios/connection-policy.json) through
// the npm client in headless Chromium, against Mosquitto and against the in-tab broker,
// at MQTT 3.1.1 and 5. The Rust client runs the same file
// (crates/client/tests/policy_scenario.rs); both must observe what the file expects.
//
// Each step runs in the page; a `reload` step reloads it (what was observed so far is
// collected first), and the clients that follow start from what the page stored.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { npmHarness } from './support/harness.mjs';

const scenario = JSON.parse(readFileSync(new URL('../scenarios/connection-policy.json', import.meta.url), 'utf8'));
const h = npmHarness({ mosquittoConf: [] });

/** Sets the page's scenario state up (again, after a reload). */
async function prepare(page) {
  await page.evaluate(async () => {
    const tabmq = await import('/tabmq/index.js');
    window.__scenario = {
      tabmq,
      clients: {},
      seen: { completions: [], watcher: [], received: {}, subscribesSent: {}, connects: {} },
      outstanding: 0,
    };
  });
}

/** Takes what the page observed so far, and forgets it there. */
async function collect(page, into) {
  const seen = await page.evaluate(() => {
    const s = window.__scenario.seen;
    window.__scenario.seen = { completions: [], watcher: [], received: {}, subscribesSent: {}, connects: {} };
    return s;
  });
  into.completions.push(...seen.completions);
  into.watcher.push(...seen.watcher);
  for (const [who, heard] of Object.entries(seen.received)) (into.received[who] ??= []).push(...heard);
  for (const [who, n] of Object.entries(seen.subscribesSent)) into.subscribesSent[who] = (into.subscribesSent[who] ?? 0) + n;
}

/** Runs one step in the page. `run`: the url, unreachable url, version and id prefix. */
async function step(page, run, s, startOf) {
  if (s.op === 'reload') {
    await page.reload();
    await prepare(page);
    return;
  }
  await page.evaluate(async ({ run, s, start }) => {
    const sc = window.__scenario;
    const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
    const idOf = (name) => `${run.prefix}-${name}`;
    const optionsOf = (name, st) => ({
      clientId: idOf(name),
      protocolVersion: run.v,
      clean: st.clean ?? true,
      reconnectPeriod: 1000,
      ...(st.will ? { will: { topic: st.will.topic, payload: st.will.payload, qos: st.will.qos } } : {}),
      ...(run.v === 5 && st.session_expiry ? { properties: { sessionExpiryInterval: st.session_expiry } } : {}),
      ...(st.persist ? { persist: 'indexeddb' } : {}),
    });
    const started = (name, client) => {
      client.on('connect', () => { sc.seen.connects[name] = (sc.seen.connects[name] ?? 0) + 1; });
      client.on('message', (topic, payload) => {
        const heard = `${topic}=${new TextDecoder().decode(payload)}`;
        if (name === 'watcher') sc.seen.watcher.push(heard);
        else (sc.seen.received[name] ??= []).push(heard);
      });
      client.on('packetsend', (p) => {
        if (p.cmd === 'subscribe') sc.seen.subscribesSent[name] = (sc.seen.subscribesSent[name] ?? 0) + 1;
      });
      sc.clients[name] = client;
      return client;
    };
    const waitConnected = async (name, times) => {
      for (let i = 0; i < 400 && (sc.seen.connects[name] ?? 0) < times; i += 1) await sleep(25);
      if ((sc.seen.connects[name] ?? 0) < times) throw new Error(`${name} did not connect ${times} times`);
    };
    switch (s.op) {
      case 'watch': {
        const w = started('watcher', sc.tabmq.connect(run.url, optionsOf('watcher', {})));
        await w.subscribeAsync(s.filter, { qos: 2 });
        break;
      }
      case 'start':
        started(s.client, sc.tabmq.connect(s.url === 'unreachable' ? run.unreachable : run.url, optionsOf(s.client, s)));
        break;
      case 'publish':
      case 'subscribe':
      case 'unsubscribe': {
        const c = sc.clients[s.client];
        const target = s.op === 'publish' ? s.topic : s.filter;
        const label = `${s.client} ${s.op} ${target}`;
        if (s.op === 'publish' && s.wait === false) {
          c.publish(s.topic, s.payload, { qos: s.qos });
          break;
        }
        const done = s.op === 'publish'
          ? c.publishAsync(s.topic, s.payload, { qos: s.qos })
          : s.op === 'subscribe'
            ? c.subscribeAsync(s.filter, { qos: s.qos }).then((granted) => { if (granted.some((g) => g.qos >= 0x80)) throw new Error('refused'); })
            : c.unsubscribeAsync(s.filter);
        sc.outstanding += 1;
        done.then(() => sc.seen.completions.push(label), () => sc.seen.completions.push(`${label} failed`))
          .finally(() => { sc.outstanding -= 1; });
        break;
      }
      case 'settle':
        for (let i = 0; i < 400 && sc.outstanding > 0; i += 1) await sleep(25);
        if (sc.outstanding > 0) throw new Error('commands still waiting');
        break;
      case 'takeover': {
        // The same client id: the broker hands the session to this connection.
        const taker = await sc.tabmq.connectAsync(run.url, { ...optionsOf(s.client, start ?? {}), reconnectPeriod: 0, persist: undefined });
        await taker.endAsync();
        await sleep(100);
        break;
      }
      case 'connected':
        await waitConnected(s.client, s.times ?? 1);
        break;
      case 'end': {
        const c = sc.clients[s.client];
        delete sc.clients[s.client];
        if (c) await new Promise((resolve) => c.end(false, { reasonCode: s.reason_code ?? 0 }, resolve));
        await sleep(100);
        break;
      }
      case 'pause':
        await sleep(s.ms);
        break;
      default:
        throw new Error(`unknown step ${s.op}`);
    }
  }, { run, s, start: s.op === 'takeover' ? startOf(s.client) : null });
}

async function runCase(run, index, spec) {
  const page = await h.browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${h.server.url}index.html`);
  await prepare(page);
  const seen = { completions: [], watcher: [], received: {}, subscribesSent: {} };
  const startOf = (name) => spec.steps.find((s) => s.op === 'start' && s.client === name);
  const prefix = `sc${index}-${run.tag}`;
  try {
    for (const s of spec.steps) {
      if (s.op === 'reload') await collect(page, seen);
      await step(page, { ...run, prefix }, s, startOf);
    }
    await page.evaluate(async () => {
      for (const c of Object.values(window.__scenario.clients)) await c.endAsync();
    });
    await collect(page, seen);
  } finally {
    await page.close();
  }
  assert.deepEqual(errors, []);
  const expect = spec.expect;
  const tag = `${run.tag}: ${spec.name}`;
  assert.deepEqual(seen.completions.sort(), [...expect.completions].sort(), `${tag}: completions`);
  const watcher = [...expect.watcher, ...(run.v === 5 ? expect.watcher_v5 ?? [] : [])].sort();
  assert.deepEqual(seen.watcher.sort(), watcher, `${tag}: the watcher heard`);
  for (const [who, heard] of Object.entries(expect.received ?? {})) {
    assert.deepEqual((seen.received[who] ?? []).sort(), [...heard].sort(), `${tag}: ${who} received`);
  }
  for (const [who, n] of Object.entries(expect.subscribes_sent ?? {})) {
    assert.equal(seen.subscribesSent[who] ?? 0, n, `${tag}: ${who}'s SUBSCRIBEs`);
  }
}

const runId = Math.floor(Math.random() * 1e9);
for (const v of [4, 5]) {
  for (const broker of ['mosquitto', 'intab']) {
    test(`MQTT ${v === 5 ? '5' : '3.1.1'}, ${broker === 'intab' ? 'the in-tab broker' : 'Mosquitto'}: the shared scenario observes what it expects`, { timeout: 120_000 }, async () => {
      const url = broker === 'intab' ? `tab://policy-${v}-${runId}` : `ws://127.0.0.1:${h.mosquitto.ws}`;
      const run = { url, unreachable: scenario.unreachable, v, tag: `${broker}-${v}-${runId}` };
      for (const [i, spec] of scenario.cases.entries()) await runCase(run, i, spec);
    });
  }
}

test('the scenario\'s refused URLs are refused with their codes, as the Rust client and tabSocket refuse them', { timeout: 30_000 }, async () => {
  const page = await h.browser.newPage();
  await page.goto(`${h.server.url}index.html`);
  for (const refused of scenario.refused_urls) {
    const error = await page.evaluate(async (url) => {
      const { connect } = await import('/tabmq/index.js');
      const client = connect(url);
      return new Promise((resolve) => client.once('error', (e) => resolve({ code: e.code, message: e.message })));
    }, refused.url);
    assert.equal(error.code, refused.code, refused.url);
    assert.ok(error.message.includes(refused.contains), `${refused.url}: ${error.message}`);
    if (!refused.url.startsWith('tab://')) continue;
    // tab-socket.js reads tab:// URLs in JavaScript (it stays free of wasm for MQTT.js
    // users): its rules must stay the machine's.
    const thrown = await page.evaluate(async (url) => {
      const { tabSocket } = await import('/tabmq/tab-socket.js');
      const socket = tabSocket(url, { workerUrl: '/tabmq/broker-worker.js' });
      return new Promise((resolve) => socket.addEventListener('error', ({ error }) => resolve({ code: error?.code, message: error?.message })));
    }, refused.url);
    assert.equal(thrown?.code, refused.code, `tabSocket(${refused.url})`);
    assert.ok(thrown.message.includes(refused.contains), `tabSocket(${refused.url}): ${thrown.message}`);
  }
  await page.close();
});

test('mqtt:// in a browser is WebSocket to the same host and port, as the scenario file says', { timeout: 30_000 }, async () => {
  const { from, to } = scenario.websocket_schemes;
  const url = `ws://127.0.0.1:${h.mosquitto.ws}`.replace(from, to);
  const page = await h.browser.newPage();
  await page.goto(`${h.server.url}index.html`);
  const connected = await page.evaluate(async (url) => {
    const { connectAsync } = await import('/tabmq/index.js');
    const client = await connectAsync(url, { clientId: 'policy-mqtt-scheme', reconnectPeriod: 0 });
    const ok = client.connected;
    await client.endAsync();
    return ok;
  }, url);
  await page.close();
  assert.equal(connected, true, url);
});
