// Where should a browser client's connection run: on the page's thread (with its timer in
// a tiny worker), or in a worker one postMessage hop away? This measures the lab's Rust
// client both ways, side by side in one run, on two builds of the lab given as
// TABMQ_THREAD_BUILDS="name=dist,name=dist" (the worker design is commit f58543f's lab;
// the page design is today's). The figures are recorded in the README's "One design for
// browser threads".
//
// - sequential: the lab's QoS benchmark (each publish waits for its acknowledgement),
//   N messages at QoS 0, 1 and 2, against the in-tab broker and against Mosquitto;
// - receive: an outside publisher (MQTT.js over TCP) floods Mosquitto with QoS 0 messages
//   to the lab's subscriber; the time until the card has counted them all.
//
// Usage (from tests/), with a build of each design:
//   git worktree add /tmp/worker-design f58543f
//   (cd /tmp/worker-design && trunk build --release --dist /tmp/dist-worker)
//   trunk build --release --dist /tmp/dist-page
//   TABMQ_THREAD_BUILDS=worker=/tmp/dist-worker,page=/tmp/dist-page node bench/threads.mjs
// (trunk as `cargo xtask setup` installs it, with npm's wasm-opt on PATH.)

import assert from 'node:assert/strict';
import mqtt from 'mqtt';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { LabPage } from '../e2e/support/lab-page.mjs';
import { startMosquitto } from '../interop/support/brokers.mjs';

const SEQUENTIAL = Number(process.env.TABMQ_THREAD_SEQUENTIAL ?? 1000);
const FLOOD = Number(process.env.TABMQ_THREAD_FLOOD ?? 20000);
const ROUNDS = Number(process.env.TABMQ_THREAD_ROUNDS ?? 3);

const builds = (process.env.TABMQ_THREAD_BUILDS ?? '')
  .split(',')
  .filter(Boolean)
  .map((pair) => pair.split('='));
assert.ok(builds.length > 0, 'TABMQ_THREAD_BUILDS=name=dist,...');

const mosquitto = await startMosquitto([]);
const browser = await launchChromium();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function openLab(url, query) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${url}${query}`);
  const lab = new LabPage(page);
  await lab.waitUntilConnected();
  return { context, page, lab };
}

/** The lab's benchmark panel: ms per message at QoS 0, 1, 2. */
async function sequentialFigures(url, query) {
  const { context, page } = await openLab(url, query);
  try {
    const bench = page.getByTestId('bench');
    await bench.getByLabel('Messages').fill(String(SEQUENTIAL));
    await bench.getByRole('button', { name: 'Run benchmark' }).click();
    await bench.getByTestId('bench-row').nth(2).waitFor({ timeout: 120_000 });
    const out = [];
    for (let i = 0; i < 3; i += 1) {
      const cells = await bench.getByTestId('bench-row').nth(i).locator('td').allTextContents();
      out.push(Number(cells[3]));
    }
    return out;
  } finally {
    await context.close();
  }
}

/** Messages/s the lab's subscriber counts from a QoS 0 flood through Mosquitto. */
async function receive(url) {
  const broker = encodeURIComponent(`ws://127.0.0.1:${mosquitto.ws}`);
  const { context, page } = await openLab(url, `?broker=${broker}`);
  const publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${mosquitto.tcp}`, { reconnectPeriod: 0 });
  try {
    const counter = page.getByTestId('subscriber').getByTestId('received-count');
    const count = async () => Number((await counter.textContent()).split(' ')[0]);
    const before = await count();
    const start = Date.now();
    for (let i = 0; i < FLOOD; i += 1) {
      publisher.publish('sensor/flood', `flood ${i}`, { qos: 0 });
      if (i % 500 === 499) await new Promise((r) => setImmediate(r));
    }
    const deadline = Date.now() + 120_000;
    let got = before;
    while (got < before + FLOOD && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      got = await count();
    }
    assert.equal(got, before + FLOOD, 'every message counted');
    return FLOOD / ((Date.now() - start) / 1000);
  } finally {
    await publisher.endAsync();
    await context.close();
  }
}

const results = {};
try {
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [name, dist] of builds) {
      const server = await serveStatic(dist);
      try {
        const r = (results[name] ??= { intab: [], mosquitto: [], receive: [] });
        r.intab.push(await sequentialFigures(server.url, ''));
        const broker = encodeURIComponent(`ws://127.0.0.1:${mosquitto.ws}`);
        r.mosquitto.push(await sequentialFigures(server.url, `?broker=${broker}`));
        r.receive.push(await receive(server.url));
      } finally {
        await server.close();
      }
    }
  }
} finally {
  await browser.close();
  await mosquitto.stop();
}

for (const [name, r] of Object.entries(results)) {
  const per = (runs, q) => median(runs.map((x) => x[q])).toFixed(3);
  console.log(`${name}: sequential ms/message, in-tab broker QoS 0/1/2: ${per(r.intab, 0)} / ${per(r.intab, 1)} / ${per(r.intab, 2)}`);
  console.log(`${name}: sequential ms/message, Mosquitto QoS 0/1/2: ${per(r.mosquitto, 0)} / ${per(r.mosquitto, 1)} / ${per(r.mosquitto, 2)}`);
  console.log(`${name}: receive, QoS 0 flood through Mosquitto: ${Math.round(median(r.receive))} msgs/s (runs: ${r.receive.map(Math.round).join(', ')})`);
}
