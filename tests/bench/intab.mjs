// The in-tab broker against mqtt5-wasm's in-page broker, in the same headless Chromium
// page (cross-origin isolated): fan-in (10 publishers to 1 subscriber) and fan-out (1 to
// 10) at each QoS, in alternating rounds; and against the ceiling, a bare MessagePort echo
// of the same bytes between page and worker. mqtt5-wasm comes from crates.io, built by
// xtask with its `broker` feature (TABMQ_MQTT5_WASM names its wasm-bindgen output).
// Run by `cargo xtask bench intab`.

import { fileURLToPath } from 'node:url';
import { serveStatic } from '../e2e/support/static-server.mjs';
import { launchChromium } from '../e2e/support/browser.mjs';
import { median, report, row } from './report.mjs';

const OUT = process.env.TABMQ_BENCH_OUT;
const NPM_DIR = process.env.TABMQ_NPM_DIR;
const M5 = process.env.TABMQ_MQTT5_WASM;
const M5_VERSION = process.env.TABMQ_MQTT5_WASM_VERSION ?? '';
// An older build of the package (`TABMQ_BENCH_BASELINE=DIR[:LABEL]`), run as a third library
// in the same rounds, as in client.mjs; its rows go to stdout only.
const [BASELINE_DIR, BASELINE_LABEL = 'baseline'] = (process.env.TABMQ_BENCH_BASELINE ?? '').split(':');
// Five rounds of runs of a tenth of a second to a few seconds: with three rounds of 1,200 to
// 3,000 messages (tens of milliseconds each), two runs of the same build a few minutes apart
// differed by up to 1.8×.
const ROUNDS = 5;
const WINDOW = 64;
const here = (p) => fileURLToPath(new URL(p, import.meta.url));

const mounts = { '/tabmq/': NPM_DIR, '/mqtt5-wasm/': M5 };
if (BASELINE_DIR) mounts['/baseline/'] = BASELINE_DIR;
const server = await serveStatic(here('./page'), mounts, { isolated: true });
const baselineRows = [];
const ceilings = [];
const browser = await launchChromium();
const rows = [];
let m5Failure = null;
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors = [];
  const consoleErrors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await page.goto(`${server.url}index.html`);
  if (!(await page.evaluate(() => self.crossOriginIsolated))) throw new Error('the bench page is not cross-origin isolated');
  await page.evaluate(async (baseline) => {
    const m5 = await import('/mqtt5-wasm/mqtt5_wasm.js');
    await m5.default();
    window.m5 = m5;
    window.tabmq = (await import('/tabmq/index.js')).default;
    if (baseline) window.baseline = (await import('/baseline/index.js')).default;
    window.cases = await import('/intab-cases.js');
  }, Boolean(BASELINE_DIR));
  let serial = 0;
  const run = (lib, args) => {
    serial += 1;
    return page.evaluate(({ lib, args, serial, window: w }) => {
      const broker = lib === 'm5'
        ? window.cases.mqtt5WasmBroker(window.m5)
        : window.cases.tabmqBroker(window[lib], `bench${serial}`, w);
      return window.cases.fan(broker, { ...args, id: `${lib}${serial}`, window: w }).finally(() => broker.close());
    }, { lib, args, serial, window: WINDOW });
  };
  // mqtt5-wasm must deliver a handful of messages before it is measured.
  const probe = await run('m5', { publishers: 1, subscribers: 1, qos: 0, count: 10 });
  const panicked = consoleErrors.find((e) => /panicked at/.test(e));
  const panic = panicked ? panicked.split('\n').slice(0, 2).join(' ') : errors[0];
  if (probe.total < probe.expected) {
    m5Failure = `mqtt5-wasm ${M5_VERSION}, built from crates.io with its \`broker\` feature, delivered ${probe.total} of ${probe.expected} messages in a probe${panic ? `: "${panic.trim()}"` : ''}`;
    errors.length = 0;
  }
  const shapes = [
    ['fan-in, 10 publishers to 1 subscriber', 10, 1],
    ['fan-out, 1 publisher to 10 subscribers', 1, 10],
  ];
  const echo = async () => (await page.evaluate(() => window.cases.echo({ count: 20000, window: 64 }))).rate;
  for (const qos of [0, 1, 2]) {
    for (const [shape, publishers, subscribers] of shapes) {
      const count = Math.round([12000, 8000, 4800][qos] / publishers);
      // The ceiling is measured in each round beside the libraries, not once for the run:
      // on this shared machine it moved from 48,000 to 82,000 msgs/s between two runs
      // minutes apart, and a ratio to a ceiling taken at another time moved with it.
      const seen = { tabmq: [], m5: [], baseline: [], ceiling: [] };
      const libs = [...(m5Failure ? ['tabmq'] : ['tabmq', 'm5']), ...(BASELINE_DIR ? ['baseline'] : [])];
      for (let round = 0; round < ROUNDS; round += 1) {
        for (const lib of round % 2 === 0 ? libs : [...libs].reverse()) {
          seen[lib].push((await run(lib, { publishers, subscribers, qos, count })).rate);
        }
        seen.ceiling.push(await echo());
      }
      const ours = median(seen.tabmq);
      const ceiling = median(seen.ceiling);
      ceilings.push(ceiling);
      if (BASELINE_DIR) baselineRows.push(`${shape}, QoS ${qos}: tabmq ${ours} ${BASELINE_LABEL} ${median(seen.baseline)} msgs/s`);
      if (!m5Failure) {
        rows.push(row(`in-tab broker: ${shape}, QoS ${qos}`, 'msgs/s', ours, `mqtt5-wasm ${M5_VERSION} Broker on the page`, median(seen.m5), true, 2));
      }
      // Fan-in is where the broker's Worker answers many ports at once: half the ceiling at
      // QoS 0, and 0.6 of it at QoS 1 and 2, whose acknowledgements double or quadruple the
      // messages.
      const target = publishers === 10 ? (qos === 0 ? 0.5 : 0.6) : null;
      rows.push(row(`in-tab broker: ${shape}, QoS ${qos}, against the MessagePort ceiling`, 'msgs/s', ours, 'bare MessagePort echo, page and worker', ceiling, true, target));
    }
  }
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  await context.close();
} finally {
  await browser.close();
  await server.close();
}
const notes = {
  'in-tab broker': `${m5Failure ? `No comparison with mqtt5-wasm: ${m5Failure}. ` : ''}tabmq's clients are the npm package's, through MQTT.js's API: they run on the page's thread and reach the broker's Worker over MessagePorts. mqtt5-wasm's broker and clients all run on the page's thread, over its client ports. Publishers keep ${WINDOW} messages between publish and delivery to every subscriber. The ceiling echoes one 32-byte message per postMessage between the page and a worker, measured in every round of each case beside the libraries (the ratio is to that case's median ceiling).`,
};
if (BASELINE_DIR) {
  console.log(`tabmq against ${BASELINE_LABEL} (medians of ${ROUNDS} rounds; MessagePort ceilings ${ceilings.map(Math.round).join(', ')} msgs/s)`);
  for (const line of baselineRows) console.log(line);
} else {
  console.log(report(OUT, ['in-tab broker'], rows, notes));
}
