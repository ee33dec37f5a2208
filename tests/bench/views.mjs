// The data views under a flood (issue 19): 10,000 messages/s spread over 1,000 topics,
// published over TCP to tabmq broker, whose WebSocket listener serves two pages of the
// built lab at once: the Explorer (watching `#`, its tree open on a hundred topics, a
// chart of ten) and a Dashboard of 12 widgets (values, gauges, charts, a switch, a button,
// a slider). Each page counts its animation frames, and CDP's TaskDuration says how long
// its main thread worked; every quarter second gives a frame time (the work per frame in
// that quarter). The report gives each page's p95 frame time against the 16.7 ms of a
// 60 Hz display, the share of frames that came late (an interval over 25 ms: a frame
// dropped), and each page's memory (JS heap and wasm) after 3 minutes against after 30 s.
// Run by `cargo xtask bench views`.
// TABMQ_VIEWS_SECONDS shortens the run (default 180) for trying it.

import mqtt from 'mqtt';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startTabmq } from '../interop/support/brokers.mjs';
import { quantile, report, row } from './report.mjs';

const OUT = process.env.TABMQ_BENCH_OUT;
const DIST = process.env.TABMQ_DIST;
const RATE = 10_000;
const TOPICS = 1_000;
const SECONDS = Number(process.env.TABMQ_VIEWS_SECONDS ?? 180);
const EARLY = Math.min(30, SECONDS / 2);
const BUDGET = 1000 / 60;
const DROPPED = 25;
const topicOf = (i) => `flood/${Math.floor(i / 100)}/${i % 100}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Twelve widgets, on topics of the flood: each reads a filter of one topic or of ten.
const board = {
  widgets: [
    { kind: 'value', title: 'Value 1', filter: 'flood/0/1', path: '$.value', unit: '°C' },
    { kind: 'value', title: 'Value 2', filter: 'flood/1/2', path: '$.value' },
    { kind: 'value', title: 'Value 3', filter: 'flood/2/3' },
    { kind: 'value', title: 'Value 4', filter: 'flood/3/+/x' },
    { kind: 'gauge', title: 'Gauge 1', filter: 'flood/4/4', path: '$.value', min: 0, max: 1000 },
    { kind: 'gauge', title: 'Gauge 2', filter: 'flood/+/5', path: '$.value', min: 0, max: 1000 },
    { kind: 'chart', title: 'Chart 1', filter: 'flood/+/6', path: '$.value' },
    { kind: 'chart', title: 'Chart 2', filter: 'flood/7/+', path: '$.value' },
    { kind: 'chart', title: 'Chart 3', filter: 'flood/8/8', path: '$.value' },
    { kind: 'switch', title: 'Switch', filter: 'flood/9/9', topic: 'bench/switch', payload: 'ON', off_payload: 'OFF' },
    { kind: 'button', title: 'Button', topic: 'bench/button', payload: 'go' },
    { kind: 'slider', title: 'Slider', filter: 'flood/9/10', topic: 'bench/slider', min: 0, max: 1000 },
  ],
};

/** Starts counting animation frames in `page`. */
const countFrames = (page) => page.evaluate(() => {
  window.benchFrames = [];
  let last = performance.now();
  const tick = (now) => {
    window.benchFrames.push(now - last);
    last = now;
    if (window.benchFrames.length < 200_000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
});

/** CDP on `page`, for its main thread's work (Performance.getMetrics' TaskDuration). */
async function workProbe(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  return async () => {
    const { metrics } = await cdp.send('Performance.getMetrics');
    return (metrics.find((m) => m.name === 'TaskDuration')?.value ?? 0) * 1000;
  };
}

/** Every quarter second until `until()`: (work ms, frames) of `page` since the last. */
async function sampleWork(page, work, until) {
  const windows = [];
  let [lastWork, lastFrames] = [await work(), await page.evaluate(() => window.benchFrames.length)];
  while (!until()) {
    await sleep(250);
    const [w, f] = [await work(), await page.evaluate(() => window.benchFrames.length)];
    if (f > lastFrames) windows.push((w - lastWork) / (f - lastFrames));
    [lastWork, lastFrames] = [w, f];
  }
  return windows;
}

/** The page's JS heap and its views module's wasm memory, MB. */
const memory = (page) => page.evaluate(() => (performance.memory.usedJSHeapSize + (window.tabmqViews?.memory?.buffer.byteLength ?? 0)) / 2 ** 20);

const broker = await startTabmq();
const server = await serveStatic(DIST);
const browser = await launchChromium({ args: ['--enable-precise-memory-info'] });
const rows = [];
const notes = [];
let publisher;
try {
  const url = encodeURIComponent(`ws://127.0.0.1:${broker.ws}`);
  const open = async (query) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}?${query}&broker=${url}`);
    return { page, errors };
  };
  const explorer = await open('view=explorer');
  const dashboard = await open(`view=dashboard&board=${Buffer.from(JSON.stringify(board)).toString('base64url')}`);
  for (const [p, who] of [[explorer.page, 'explorer'], [dashboard.page, 'dashboard']]) {
    await p.locator(`[data-testid="status-${who}"][data-state="connected"]`).waitFor({ timeout: 30_000 });
  }
  if ((await dashboard.page.getByTestId('widget').count()) !== 12) throw new Error('the dashboard did not open its 12 widgets');

  publisher = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.tcp}`, { clientId: 'views-flood', reconnectPeriod: 0 });
  let sent = 0;
  let next = 0;
  let flooding = true;
  // 100 messages every 10 ms, on the next 100 topics in turn.
  const flood = (async () => {
    const start = performance.now();
    while (flooding) {
      for (let i = 0; i < RATE / 100; i++) {
        const n = next++ % TOPICS;
        publisher.publish(topicOf(n), JSON.stringify({ value: (sent + n) % 1000 }), { qos: 0 });
        sent++;
      }
      const due = start + (sent / RATE) * 1000;
      await sleep(Math.max(0, due - performance.now()));
    }
  })();

  // The Explorer as a person would have it: the tree open on flood/0's hundred topics, one
  // selected, and a chart of ten series.
  const ex = explorer.page;
  await ex.locator('[role="treeitem"][data-topic="flood"] .twisty').click({ timeout: 30_000 });
  await ex.locator('[role="treeitem"][data-topic="flood/0"] .twisty').click({ timeout: 30_000 });
  await ex.locator('[role="treeitem"][data-topic="flood/0/1"]').click();
  const form = ex.getByRole('form', { name: 'Add a series' });
  await form.getByLabel('Topic or filter').fill('flood/+/1');
  await form.getByLabel('JSON path').fill('$.value');
  await form.getByRole('button', { name: 'Add to chart' }).click();

  await sleep(3_000);
  const t0 = performance.now();
  await Promise.all([countFrames(ex), countFrames(dashboard.page)]);
  const probes = [await workProbe(ex), await workProbe(dashboard.page)];
  let measuring = true;
  const sampling = [sampleWork(ex, probes[0], () => !measuring), sampleWork(dashboard.page, probes[1], () => !measuring)];
  await sleep(EARLY * 1000 - (performance.now() - t0));
  const early = [await memory(ex), await memory(dashboard.page)];
  const sentEarly = sent;
  await sleep(SECONDS * 1000 - (performance.now() - t0));
  measuring = false;
  const work = await Promise.all(sampling);
  const late = [await memory(ex), await memory(dashboard.page)];
  // The charts' points held at the end: history the user asked to keep (a day of 1 Hz per
  // series by default), which grows by design until its limits.
  const points = (page) => page.evaluate(() => [...document.querySelectorAll('[data-testid="series"]')].reduce((n, s) => n + Number(s.dataset.points), 0));
  const held = [await points(ex), await points(dashboard.page)];
  const rate = (sent - sentEarly) / (SECONDS - EARLY);
  flooding = false;
  await flood;
  const seen = await ex.evaluate(() => document.querySelector('[data-testid="explorer-counts"]')?.textContent ?? '');

  for (const [name, page, i] of [['Explorer', ex, 0], ['Dashboard of 12 widgets', dashboard.page, 1]]) {
    const frames = (await page.evaluate(() => window.benchFrames)).slice(1);
    const p95 = quantile(work[i], 0.95);
    const over = frames.filter((f) => f > DROPPED).length / frames.length;
    rows.push(row(`data views: ${name} under 10,000 msgs/s over 1,000 topics, p95 frame time`, 'ms', p95, 'the 16.7 ms of a 60 Hz display', BUDGET, false, 1));
    rows.push(row(`data views: ${name}, frames on time (interval up to ${DROPPED} ms)`, '%', 100 * (1 - over), 'all of them', 100, true, 0.95));
    rows.push(row(`data views: ${name}, memory after ${SECONDS} s against after ${EARLY} s`, 'MB', late[i], `the same page after ${EARLY} s`, early[i], false, 0.8));
    notes.push(`${name}: main-thread work per frame p50 ${quantile(work[i], 0.5).toFixed(2)} ms, p95 ${p95.toFixed(2)} ms, max ${Math.max(...work[i]).toFixed(2)} ms over ${work[i].length} quarter seconds; ${frames.length} frames (${(frames.length / SECONDS).toFixed(1)}/s), intervals p50 ${quantile(frames, 0.5).toFixed(1)} ms, p99 ${quantile(frames, 0.99).toFixed(1)} ms, ${(over * 100).toFixed(2)}% over ${DROPPED} ms (a frame dropped); memory (JS heap and the views' wasm) ${early[i].toFixed(1)} MB after ${EARLY} s, ${late[i].toFixed(1)} MB after ${SECONDS} s, with ${held[i]} chart points held (${(held[i] * 16 / 2 ** 20).toFixed(1)} MB at 16 bytes a point, before the deques' slack).`);
  }
  notes.push(`The flood: ${Math.round(rate)} msgs/s measured between ${EARLY} s and ${SECONDS} s (target ${RATE}), QoS 0, by MQTT.js over TCP to tabmq broker; the Explorer said "${seen}" at the end.`);
  for (const { errors } of [explorer, dashboard]) if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
} finally {
  await publisher?.endAsync().catch(() => {});
  await browser.close();
  await server.close();
  await broker.stop();
}
const text = `Both pages are the built lab (release, wasm-opt), each in its own browser context at 1280×800, on one headless Chromium, beside tabmq broker and the publisher on the same 2 cores. A frame's time is the main thread's work per frame: every quarter second, CDP's TaskDuration (the page's main-thread task time, its messages, model, drawing and the browser's own work for it) over the animation frames in that quarter; the ratio is 16.7 ms over its p95 (1× or more: 95% of quarters fit a 60 Hz display's frame). A frame is late when the interval between two animation frames is over ${DROPPED} ms (a vsync missed). The memory ratio is the early figure over the late one (0.8× or more: it grew by a quarter at most). ${notes.join(' ')}`;
console.log(report(OUT, ['data views'], rows, { 'data views': text }));
