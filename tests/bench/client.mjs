// The browser client against MQTT.js: both in the same headless Chromium page (cross-origin
// isolated, so timers are not clamped), against the same Mosquitto WebSocket listener with
// TCP_NODELAY, in turn, for several rounds; medians of the rounds. Run by
// `cargo xtask bench client`.

import { fileURLToPath } from 'node:url';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startMosquitto, startTabmq } from '../interop/support/brokers.mjs';
import { median, report, row } from './report.mjs';

const OUT = process.env.TABMQ_BENCH_OUT;
const NPM_DIR = process.env.TABMQ_NPM_DIR;
const ROUNDS = 3;
const WINDOW = 64;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const PEER = 'MQTT.js 5.16.0';
// The targets: 1.5× MQTT.js at QoS 0, 1.2× at QoS 1 and 2.
const target = (qos) => (qos === 0 ? 1.5 : 1.2);

const mosquitto = await startMosquitto(['set_tcp_nodelay true', 'max_inflight_messages 0', 'max_queued_messages 0']);
// Mosquitto 2.0.11's WebSocket listener holds each 4 KiB frame for about 100 ms
// (eclipse-mosquitto/mosquitto#1390): the 4 KiB runs go to tabmq broker's WebSocket
// listener instead, the same broker for both clients.
const largeFrames = await startTabmq();
const LARGE = 4096;
const server = await serveStatic(here('./page'), { '/tabmq/': NPM_DIR, '/mqtt/': here('../node_modules/mqtt/dist') }, { isolated: true });
const browser = await launchChromium();
const rows = [];
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${server.url}index.html`);
  if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the bench page is not cross-origin isolated');
  await page.evaluate(async () => {
    window.libs = {
      mqtt: (await import('/mqtt/mqtt.esm.js')).default,
      tabmq: (await import('/tabmq/index.js')).default,
    };
    window.cases = await import('/client-cases.js');
  });
  const urlFor = (size) => `ws://127.0.0.1:${size >= LARGE ? largeFrames.ws : mosquitto.ws}`;
  let serial = 0;
  /** Runs `kind` with `args` for both libraries, alternating who goes first; the medians. */
  const both = async (kind, args, pick) => {
    const seen = { mqtt: [], tabmq: [] };
    for (let round = 0; round < ROUNDS; round += 1) {
      const order = round % 2 === 0 ? ['mqtt', 'tabmq'] : ['tabmq', 'mqtt'];
      for (const lib of order) {
        serial += 1;
        const result = await page.evaluate(
          ({ kind, lib, url, args }) => window.cases[kind](window.libs[lib], url, args),
          { kind, lib, url: urlFor(args.size ?? 16), args: { ...args, id: `${lib}-${serial}` } },
        );
        seen[lib].push(pick(result));
      }
    }
    return { ours: median(seen.tabmq), theirs: median(seen.mqtt) };
  };
  for (const qos of [0, 1, 2]) {
    for (const size of [16, 256, 4096]) {
      const count = [6000, 4000, 2500][qos];
      const m = await both('pipelined', { qos, size, count, window: WINDOW }, (r) => r.rate);
      const broker = size >= LARGE ? ', via tabmq broker' : '';
      rows.push(row(`client: pipelined, QoS ${qos}, ${size} B, window ${WINDOW}${broker}`, 'msgs/s', m.ours, PEER, m.theirs, true, target(qos)));
    }
  }
  for (const qos of [0, 1, 2]) {
    const m = await both('sequential', { qos, count: 200 }, (r) => r.ms);
    rows.push(row(`client: sequential (the seeds' benchmark), QoS ${qos}`, 'ms/message', m.ours, PEER, m.theirs, false, target(qos)));
  }
  for (const qos of [0, 1, 2]) {
    const p50 = await both('latency', { qos, count: 300 }, (r) => r.p50);
    const p99 = await both('latency', { qos, count: 300 }, (r) => r.p99);
    rows.push(row(`client: latency to own subscription p50, QoS ${qos}`, 'ms', p50.ours, PEER, p50.theirs, false, null));
    rows.push(row(`client: latency to own subscription p99, QoS ${qos}`, 'ms', p99.ours, PEER, p99.theirs, false, null));
  }
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  await context.close();
} finally {
  await browser.close();
  await server.close();
  await mosquitto.stop();
  await largeFrames.stop();
}
const notes = {
  client: `Both libraries run the same code (tests/bench/page/client-cases.js) through MQTT.js's API in one page, against one Mosquitto (set_tcp_nodelay true). Pipelined runs are closed loops: ${WINDOW} messages between publish and delivery to a subscriber of the same library. tabmq's connections run in its client worker, one postMessage hop from the page each way; MQTT.js runs on the page's thread. Mosquitto 2.0.11's WebSocket listener holds each 4 KiB frame for about 100 ms (eclipse-mosquitto/mosquitto#1390; both clients then measure about 10 messages/s), so the 4 KiB runs use tabmq broker's WebSocket listener, the same broker for both clients. A pipelined run stops after 5 s.`,
};
console.log(report(OUT, ['client'], rows, notes));
