// The Explorer view (issue 19) against a real Mosquitto over WebSocket and against the
// in-tab broker: the topic tree's items, counts and keyboard, the stale mark, payloads as
// JSON, hex and Sparkplug B (made by pysparkplug), a payload of markup shown as text and
// never run, and a retained subtree deleted, which a client tabmq did not write confirms.
// Screenshots of the view at 1280x800 and at phone width go to TABMQ_ARTIFACTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExplorerPage } from './support/explorer-page.mjs';
import { mosquittoFeed } from './support/feeds.mjs';
import { useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: true });
const artifacts = process.env.TABMQ_ARTIFACTS ?? path.join(os.tmpdir(), 'tabmq-artifacts');
mkdirSync(artifacts, { recursive: true });
const python = process.env.TABMQ_PYTHON ?? new URL('../../target/xtask/venv/bin/python', import.meta.url).pathname;
const INTERVAL = 200;
const READINGS = 12;
/** Reading `i` of `topic`: the bedroom two degrees (or points) below the kitchen. */
const reading = (topic, i) => JSON.stringify({ value: 20 + i / 10 - (topic.includes('bedroom') ? 2 : 0), unit: topic.endsWith('temp') ? 'C' : '%' });
const ROOMS = ['kitchen', 'bedroom'];
const QUANTITIES = ['temp', 'hum'];
const readingTopics = ROOMS.flatMap((r) => QUANTITIES.map((q) => `home/${r}/${q}`));

/** Payloads from pysparkplug, as Buffers. */
function sparkplugPayloads() {
  const out = JSON.parse(execFileSync(python, [new URL('./support/sparkplug.py', import.meta.url).pathname], { timeout: 30_000 }).toString());
  return { birth: Buffer.from(out.birth, 'hex'), data: Buffer.from(out.data, 'hex') };
}

/** Publishing through MQTT.js in the page, over tabSocket to the shared in-tab broker. */
async function inTabFeed(page) {
  await page.addScriptTag({ path: new URL('../node_modules/mqtt/dist/mqtt.min.js', import.meta.url).pathname });
  const connect = async (name) => page.evaluate(async (name) => {
    const { tabSocket } = await import('./tab-socket.js');
    const client = window.mqtt.connect('ws://tab', { clientId: name, reconnectPeriod: 0, createWebsocket: () => tabSocket('tab://lab?shared') });
    await new Promise((resolve, reject) => { client.once('connect', resolve); client.once('error', reject); });
    (window.feeds ??= {})[name] = client;
  }, name);
  await connect('feed');
  const publish = (topic, payload, retain) => page.evaluate(([topic, bytes, retain]) =>
    window.feeds.feed.publishAsync(topic, window.mqtt.Buffer ? window.mqtt.Buffer.from(bytes) : new Uint8Array(bytes), { qos: 1, retain }).then(() => 'ok'),
  [topic, [...payload], retain]);
  return {
    url: 'tab://lab?shared',
    publish: (topic, payload, { retain = false } = {}) => publish(topic, Buffer.from(payload), retain),
    async readings(i) {
      for (const topic of readingTopics) {
        await publish(topic, Buffer.from(reading(topic, i)), false);
      }
    },
    async stopReadings() {},
    async retainedUnder(filter) {
      await connect('check');
      return page.evaluate(async (filter) => {
        const client = window.feeds.check;
        const got = [];
        client.on('message', (topic, payload, packet) => { if (packet.retain) got.push(`${topic} ${payload}`); });
        await client.subscribeAsync(filter, { qos: 1 });
        await new Promise((r) => setTimeout(r, 1000));
        await client.endAsync();
        return got;
      }, filter);
    },
    async close() { await page.evaluate(() => window.feeds?.feed?.endAsync()).catch(() => {}); },
  };
}

for (const broker of ['mosquitto', 'in-tab']) {
  test(`Explorer over ${broker === 'mosquitto' ? 'a real Mosquitto over WebSocket' : 'the in-tab broker'}: tree, counts, keyboard, stale mark, payload formats, Sparkplug B, markup as text, recursive retained delete`, { timeout: 120_000 }, async () => {
    const url = broker === 'mosquitto' ? `ws://127.0.0.1:${env.mosquitto.ws}` : 'tab://lab?shared';
    const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = [];
    const dialogs = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.setDefaultTimeout(15_000);
    let feed;
    try {
      await page.goto(`${env.server.url}?view=explorer&broker=${encodeURIComponent(url)}`);
      const explorer = new ExplorerPage(page);
      await explorer.waitConnected();
      assert.equal(await page.getByRole('link', { name: 'Explorer' }).getAttribute('aria-current'), 'page');
      feed = broker === 'mosquitto' ? mosquittoFeed(env.mosquitto, readingTopics, reading) : await inTabFeed(page);
      // A chart of every home/+/temp's $.value, one series per room, from the start.
      await explorer.addSeries('home/+/temp', '$.value');
      await explorer.chart.getByTestId('plotted').getByText('home/+/temp $.value', { exact: true }).waitFor();
      // Retained messages in a subtree, one beside it, markup, and Sparkplug B.
      const tag = `t${Date.now().toString(36)}`;
      for (const [topic, value] of [[`${tag}/a`, '1'], [`${tag}/a/b`, '2'], [`${tag}/c/d`, '3'], [`keep-${tag}`, 'stays']]) {
        await feed.publish(topic, Buffer.from(value), { retain: true });
      }
      const markup = '<img src=x onerror=alert(1)>';
      await feed.publish('xss/img', Buffer.from(markup));
      const sparkplug = sparkplugPayloads();
      await feed.publish('spBv1.0/plant/NBIRTH/edge1', sparkplug.birth);
      await feed.publish('spBv1.0/plant/NDATA/edge1', sparkplug.data);
      let lastSent = 0;
      for (let i = 0; i < READINGS; i++) {
        const started = Date.now();
        await feed.readings(i);
        lastSent = Date.now();
        if (i === 3) await explorer.reveal('home/kitchen/temp');
        // While the readings flow, nothing is stale.
        if (i > 3) assert.equal(await explorer.item('home/kitchen/temp').getAttribute('data-stale'), null, `stale at reading ${i}`);
        if (i < READINGS - 1) await sleep(INTERVAL - (Date.now() - started));
      }
      await explorer.item('home/kitchen/temp').and(page.locator('[data-stale="true"]')).waitFor({ timeout: 5_000 });
      const staleAfter = Date.now() - lastSent;
      await feed.stopReadings();
      // Three intervals of silence (600 ms), seen at the view's next tick (250 ms), with
      // a little for the last message's way and the page.
      assert.ok(staleAfter >= 3 * INTERVAL - 150 && staleAfter <= 3 * INTERVAL + 250 + 500, `stale after ${staleAfter} ms`);
      await explorer.item('home/kitchen/temp').getByTestId('stale').waitFor();

      // The tree: levels in order, counts of every message.
      assert.equal(await explorer.item('home').getAttribute('aria-level'), '1');
      assert.equal(await explorer.item('home').getAttribute('aria-expanded'), 'true');
      assert.equal(await explorer.item('home/kitchen').getAttribute('aria-level'), '2');
      assert.equal(await explorer.item('home/kitchen/temp').getAttribute('aria-level'), '3');
      const kitchenChildren = await explorer.tree.locator('[role="treeitem"][aria-level="3"]').evaluateAll((items) => items.map((i) => i.dataset.topic));
      assert.deepEqual(kitchenChildren, ['home/kitchen/hum', 'home/kitchen/temp']);
      await page.waitForFunction(() => document.querySelector('[data-topic="home"] [data-testid="message-count"]')?.textContent === '48 msgs', null, { timeout: 5_000 });
      assert.equal(await explorer.count('home'), READINGS * readingTopics.length);
      assert.equal(await explorer.count('home/kitchen'), READINGS * 2);
      assert.equal(await explorer.count('home/kitchen/temp'), READINGS);
      assert.equal(await explorer.item('home').getByTestId('topic-count').textContent(), '4 topics');
      assert.equal(await explorer.item('home').getByRole('treeitem').count(), 0, 'items are flat, with aria-level');
      assert.equal(await page.getByRole('treeitem', { name: 'kitchen', exact: true }).count(), 1);

      // The keyboard: from "home", Left folds it, Right opens it, Down walks in.
      await explorer.item('home').focus();
      await page.keyboard.press('ArrowLeft');
      await page.waitForFunction(() => document.querySelector('[data-topic="home"]').getAttribute('aria-expanded') === 'false');
      assert.equal(await explorer.item('home/kitchen').count(), 0);
      await page.keyboard.press('ArrowRight');
      await explorer.item('home/kitchen').waitFor();
      await page.keyboard.press('ArrowDown');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.topic), 'home/bedroom');
      await page.keyboard.press('ArrowDown');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.topic), 'home/kitchen');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowDown');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.topic), 'home/kitchen/temp');
      await page.keyboard.press('Enter');
      await explorer.details.getByTestId('selected-topic').getByText('home/kitchen/temp', { exact: true }).waitFor();
      assert.equal(await explorer.item('home/kitchen/temp').getAttribute('aria-selected'), 'true');
      assert.equal(await explorer.item('home/kitchen/temp').getAttribute('tabindex'), '0');
      await page.keyboard.press('ArrowLeft');
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.topic), 'home/kitchen');

      // The selected topic: JSON first (it parses), then hex; its recent messages.
      const last = reading('home/kitchen/temp', READINGS - 1);
      assert.equal(await explorer.details.getByTestId('topic-messages').textContent(), String(READINGS));
      assert.equal(await explorer.details.getByLabel('Show as').inputValue(), 'JSON');
      assert.deepEqual(JSON.parse(await explorer.details.getByTestId('payload').textContent()), JSON.parse(last));
      await explorer.showAs('Hex');
      assert.equal(await explorer.details.getByTestId('payload').textContent(), [...Buffer.from(last)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
      await explorer.showAs('Base64');
      assert.equal(await explorer.details.getByTestId('payload').textContent(), Buffer.from(last).toString('base64'));
      assert.equal(await explorer.details.getByTestId('recent-message').count(), READINGS);
      assert.equal(await explorer.details.getByTestId('topic-state').textContent(), 'stale');

      // Markup is text: shown, never parsed, never run.
      await explorer.select('xss/img');
      assert.equal(await explorer.details.getByTestId('payload').textContent(), markup);
      assert.equal(await explorer.item('xss/img').getByTestId('last-value').textContent(), markup);
      assert.equal(await page.locator('img').count(), 0);
      await sleep(300);
      assert.deepEqual(dialogs, []);

      // Sparkplug B: the DATA message's metrics, named and typed by the birth before it.
      await explorer.select('spBv1.0/plant/NDATA/edge1');
      assert.equal(await explorer.details.getByLabel('Show as').inputValue(), 'Sparkplug B');
      const metrics = await explorer.details.getByTestId('metric').evaluateAll((rows) =>
        rows.map((r) => [r.querySelector('[data-testid="metric-name"]').textContent, r.querySelector('[data-testid="metric-value"]').textContent]));
      assert.deepEqual(metrics, [['Temperature', '21.5'], ['Pressure', '-12']]);

      // The chart: a line per room, each with every reading, drawn on the canvas.
      const expected = ['home/bedroom/temp $.value', 'home/kitchen/temp $.value'];
      const series = async () => explorer.chart.getByTestId('series').evaluateAll((items) => items.map((i) => [i.dataset.label, Number(i.dataset.points)]));
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="series"]').length === 2);
      await page.waitForFunction((n) => [...document.querySelectorAll('[data-testid="series"]')].every((i) => Number(i.dataset.points) === n), READINGS);
      assert.deepEqual(await series(), expected.map((l) => [l, READINGS]));
      assert.ok(await explorer.inkedPixels() > 200, 'the lines are drawn on the canvas');

      // Retained: marked in the tree; the subtree deleted at once, its neighbour kept.
      await explorer.reveal(`${tag}/a/b`);
      await explorer.reveal(`${tag}/c/d`);
      for (const topic of [`${tag}/a`, `${tag}/a/b`, `${tag}/c/d`, `keep-${tag}`]) {
        await explorer.item(topic).getByTestId('retained').waitFor();
      }
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.screenshot({ path: path.join(artifacts, `explorer-${broker}-1280.png`), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await page.screenshot({ path: path.join(artifacts, `explorer-${broker}-phone.png`), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 800 });
      await explorer.select(tag);
      await explorer.details.getByRole('button', { name: 'Delete retained below (3)' }).click();
      await explorer.notice.getByText('Deleted 3 of 3 retained messages', { exact: true }).waitFor();
      for (const topic of [`${tag}/a`, `${tag}/a/b`, `${tag}/c/d`]) {
        await explorer.item(topic).getByTestId('retained').waitFor({ state: 'detached' });
      }
      assert.deepEqual(await feed.retainedUnder(`${tag}/#`), []);
      assert.deepEqual(await feed.retainedUnder(`keep-${tag}`), [`keep-${tag} stays`]);
      assert.deepEqual(errors, []);

      // A reload finds the chart whole: its series kept in localStorage, the points in
      // IndexedDB, though no reading came since.
      await feed.close();
      feed = null;
      await sleep(800);
      await page.reload();
      await explorer.waitConnected();
      await explorer.chart.getByTestId('history-status').getByText(`History: ${2 * READINGS} points loaded from IndexedDB`, { exact: true }).waitFor();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="series"]').length === 2);
      assert.deepEqual(await series(), expected.map((l) => [l, READINGS]));
      assert.ok(await explorer.inkedPixels() > 200, 'the restored lines are drawn');
      await page.screenshot({ path: path.join(artifacts, `explorer-${broker}-chart-after-reload.png`), fullPage: true });
      // "Clear history" empties it, here and in storage.
      await explorer.chart.getByRole('button', { name: 'Clear history' }).click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="series"]').length === 0);
      await sleep(800);
      await page.reload();
      await explorer.chart.getByTestId('history-status').getByText('History: 0 points loaded from IndexedDB', { exact: true }).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await feed?.close();
      await context.close();
    }
  });
}
