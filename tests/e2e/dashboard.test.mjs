// The Dashboard view (issue 19) against a real Mosquitto over WebSocket: widgets of every
// kind added through the form, fed by mosquitto_pub; the switch, button and slider publish
// with their QoS and retain flag, as an MQTT.js client (MQTT 5, Retain As Published) sees;
// stale marks, the connection-down mark while Mosquitto is stopped, reordering and
// removing, export and import as JSON, a reload, and a shared link opened in a fresh
// browser context. Screenshots at 1280x800 and at phone width go to TABMQ_ARTIFACTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt from 'mqtt';
import { DashboardPage } from './support/dashboard-page.mjs';
import { mosquittoFeed } from './support/feeds.mjs';
import { useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: true });
const artifacts = process.env.TABMQ_ARTIFACTS ?? path.join(os.tmpdir(), 'tabmq-artifacts');
mkdirSync(artifacts, { recursive: true });
const INTERVAL = 200;
const READINGS = 8;
const topics = ['home/kitchen/temp', 'home/bedroom/temp'];
const reading = (topic, i) => JSON.stringify({ value: 20 + i / 10 - (topic.includes('bedroom') ? 2 : 0) });

test('Dashboard over a real Mosquitto: every widget kind, publishing, stale and connection-down marks, layout, JSON, reload and a shared link', { timeout: 120_000 }, async () => {
  const url = `ws://127.0.0.1:${env.mosquitto.ws}`;
  const context = await env.browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.setDefaultTimeout(15_000);
  const feed = mosquittoFeed(env.mosquitto, topics, reading);
  let watcher;
  let shared;
  try {
    await page.goto(`${env.server.url}?view=dashboard&broker=${encodeURIComponent(url)}`);
    const dash = new DashboardPage(page);
    await dash.waitConnected();
    assert.equal(await page.getByRole('link', { name: 'Dashboard' }).getAttribute('aria-current'), 'page');
    await dash.add({ kind: 'Value', title: 'Kitchen', filter: 'home/kitchen/temp', path: '$.value', unit: '°C' });
    await dash.add({ kind: 'Gauge', title: 'Temperatures', filter: 'home/+/temp', path: '$.value', unit: '°C', min: '0', max: '40' });
    await dash.add({ kind: 'Line chart', title: 'Temperature chart', filter: 'home/+/temp', path: '$.value' });
    await dash.add({ kind: 'Switch', title: 'Kitchen light', filter: 'lights/kitchen', topic: 'lights/kitchen', payload: 'ON', off: 'OFF', qos: '1', retain: true });
    await dash.add({ kind: 'Button', title: 'Ping', topic: 'cmd/ping', payload: 'ping', qos: '2' });
    await dash.add({ kind: 'Slider', title: 'Dimmer', filter: 'dim/kitchen', topic: 'dim/kitchen', qos: '1', retain: true });
    assert.deepEqual(await dash.titles(), ['Kitchen', 'Temperatures', 'Temperature chart', 'Kitchen light', 'Ping', 'Dimmer']);
    // A widget the form cannot make is refused with the reason.
    await dash.add({ kind: 'Button', title: 'Bad', topic: 'cmd/+', payload: 'x' }).catch(() => {});
    await dash.notice.getByText(/^Not added: publish topic/).waitFor();
    assert.equal(await dash.widgets.count(), 6);

    for (let i = 0; i < READINGS; i++) {
      const started = Date.now();
      await feed.readings(i);
      if (i < READINGS - 1) await sleep(INTERVAL - (Date.now() - started));
    }
    await dash.widget('Kitchen').getByTestId('widget-value').getByText('20.7 °C', { exact: true }).waitFor();
    const gauge = dash.widget('Temperatures');
    await page.waitForFunction(() => document.querySelectorAll('[aria-label="Temperatures"] meter').length === 2);
    assert.deepEqual(await gauge.locator('meter').evaluateAll((ms) => ms.map((m) => m.value).sort()), [18.7, 20.7]);
    const chart = dash.widget('Temperature chart');
    await page.waitForFunction((n) => [...document.querySelectorAll('[aria-label="Temperature chart"] [data-testid="series"]')].map((s) => Number(s.dataset.points)).join() === `${n},${n}`, READINGS);
    // The readings stop: the widgets that read them go stale within three intervals and a tick.
    await feed.stopReadings();
    await dash.widget('Kitchen').and(page.locator('[data-stale="true"]')).waitFor({ timeout: 3_000 });
    await dash.widget('Kitchen').getByTestId('widget-stale').waitFor();

    // The broker goes away: every widget says its connection is down, then recovers.
    // (Mosquitto keeps nothing across this restart, so it comes before anything retained.)
    await env.mosquitto.stop();
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="widget"]')].every((w) => w.dataset.down === 'true'), null, { timeout: 10_000 });
    assert.equal(await dash.widget('Ping').getByTestId('widget-down').textContent(), 'connection down');
    await env.mosquitto.start();
    await dash.waitConnected(30_000);
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="widget"]')].every((w) => !w.dataset.down));

    // Publishing: the switch (QoS 1, retained), the button (QoS 2), the slider, as an MQTT.js
    // client sees it (MQTT 5, Retain As Published, so the retain flag is the publisher's).
    watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.mosquitto.tcp}`, { protocolVersion: 5, reconnectPeriod: 0, clientId: `dash-watch-${Date.now()}` });
    const published = [];
    watcher.on('message', (topic, payload, packet) => published.push([topic, payload.toString(), packet.qos, packet.retain]));
    await watcher.subscribeAsync(['lights/#', 'cmd/#', 'dim/#'], { qos: 2, rap: true });
    const light = dash.widget('Kitchen light').getByRole('switch', { name: 'Kitchen light' });
    assert.equal(await light.getAttribute('aria-checked'), 'false');
    await light.click();
    await page.waitForFunction(() => document.querySelector('[aria-label="Kitchen light"] [role="switch"]')?.getAttribute('aria-checked') === 'true');
    await light.click();
    await page.waitForFunction(() => document.querySelector('[aria-label="Kitchen light"] [role="switch"]')?.getAttribute('aria-checked') === 'false');
    await dash.widget('Ping').getByRole('button', { name: 'Ping', exact: true }).click();
    await dash.widget('Dimmer').getByRole('slider', { name: 'Dimmer' }).fill('40');
    await dash.widget('Dimmer').getByTestId('widget-value').getByText('40', { exact: true }).waitFor();
    const deadline = Date.now() + 5_000;
    while (published.length < 4 && Date.now() < deadline) await sleep(50);
    // In order per topic; a QoS 2 flow may finish after a later QoS 1 one.
    assert.deepEqual(published.filter(([t]) => t === 'lights/kitchen'), [['lights/kitchen', 'ON', 1, true], ['lights/kitchen', 'OFF', 1, true]]);
    assert.deepEqual(published.filter(([t]) => t !== 'lights/kitchen').sort(), [['cmd/ping', 'ping', 2, false], ['dim/kitchen', '40', 1, true]]);
    await page.screenshot({ path: path.join(artifacts, 'dashboard-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 800 });

    // Layout: the chart moves up one place; the button goes.
    await page.getByRole('button', { name: 'Move Temperature chart up' }).click();
    await page.getByRole('button', { name: 'Remove Ping' }).click();
    const layout = ['Kitchen', 'Temperature chart', 'Temperatures', 'Kitchen light', 'Dimmer'];
    assert.deepEqual(await dash.titles(), layout);

    // JSON out, a broken JSON refused, and the board kept across a reload.
    await page.getByRole('button', { name: 'Export JSON' }).click();
    const exported = JSON.parse(await page.getByLabel('Board JSON').inputValue());
    assert.deepEqual(exported.widgets.map((w) => [w.title, w.kind]), [['Kitchen', 'value'], ['Temperature chart', 'chart'], ['Temperatures', 'gauge'], ['Kitchen light', 'switch'], ['Dimmer', 'slider']]);
    await page.getByLabel('Board JSON').fill('{"widgets": [{"kind": "gauge", "filter": "a", "min": 9, "max": 1}]}');
    await page.getByRole('button', { name: 'Import JSON' }).click();
    await dash.notice.getByText('Not imported: min must be below max', { exact: true }).waitFor();
    assert.deepEqual(await dash.titles(), layout);
    const link = await page.getByLabel('Share link').inputValue();
    await page.reload();
    await dash.waitConnected();
    assert.deepEqual(await dash.titles(), layout);
    // The retained state comes back with the subscription: the light is off, the dimmer at 40.
    await page.waitForFunction(() => document.querySelector('[aria-label="Dimmer"] [data-testid="widget-value"]')?.textContent === '40');
    assert.equal(await dash.widget('Kitchen light').getByRole('switch').getAttribute('aria-checked'), 'false');

    // A shared link opens the same board in a browser that never saw it.
    shared = await env.browser.newContext();
    const other = await shared.newPage();
    other.on('pageerror', (e) => errors.push(e.message));
    await other.goto(link);
    const otherDash = new DashboardPage(other);
    await otherDash.waitConnected();
    assert.deepEqual(await otherDash.titles(), layout);
    await otherDash.notice.getByText('Opened a shared board of 5 widgets', { exact: true }).waitFor();
    assert.deepEqual(errors, []);
  } finally {
    await feed.close();
    await watcher?.endAsync().catch(() => {});
    await shared?.close();
    await context.close();
  }
});
