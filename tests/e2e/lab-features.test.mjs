// The lab's features end to end (issue 7): connections and their settings, publisher and
// subscriber cards, the handshake view, faults and the guided scenarios, the broker
// inspector, the benchmark, and the design at desktop and phone widths. Each test saves a
// screenshot of its final state to TABMQ_ARTIFACTS.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import mqtt from 'mqtt';
import { LabPage, LabPanels } from './support/lab-page.mjs';
import { openLab, useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: true });
const artifacts = process.env.TABMQ_ARTIFACTS ?? path.join(os.tmpdir(), 'tabmq-artifacts');
mkdirSync(artifacts, { recursive: true });

async function screenshot(page, name) {
  await page.screenshot({ path: path.join(artifacts, `lab-${name}.png`), fullPage: true });
}

async function open(query = '') {
  const opened = await openLab(env, query);
  return { ...opened, panels: new LabPanels(opened.page) };
}

test('connection settings (version, client id, keepalive, session) are applied and kept across a reload', async () => {
  const { context, page, panels, errors } = await open();
  try {
    const form = await panels.connection('publisher');
    await form.getByLabel('MQTT version').selectOption('5');
    await form.getByLabel('Client ID').fill('my-lab-publisher');
    await form.getByLabel('Keepalive (s)').fill('17');
    await form.getByLabel('Clean session').uncheck();
    await form.getByLabel('Session expiry (s)').fill('120');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await panels.waitConnected('publisher');
    // The broker sees the new client id, as MQTT 5.
    const session = panels.inspector.locator('[data-testid="session"][data-client="my-lab-publisher"]');
    await session.waitFor();
    assert.match(await session.textContent(), /v5/);
    await page.reload();
    await new LabPage(page).waitUntilConnected();
    const again = await panels.connection('publisher');
    assert.equal(await again.getByLabel('Client ID').inputValue(), 'my-lab-publisher');
    assert.equal(await again.getByLabel('Keepalive (s)').inputValue(), '17');
    assert.equal(await again.getByLabel('MQTT version').inputValue(), '5');
    assert.equal(await again.getByLabel('Clean session').isChecked(), false);
    assert.equal(await again.getByLabel('Session expiry (s)').inputValue(), '120');
    assert.deepEqual(errors, []);
    await screenshot(page, 'connection-settings');
  } finally {
    await context.close();
  }
});

test('a real Mosquitto over WebSocket: messages flow, and a cut publisher\'s will is published', async () => {
  const broker = `ws://127.0.0.1:${env.mosquitto.ws}`;
  const { context, page, panels, lab, errors } = await open(`?broker=${encodeURIComponent(broker)}`);
  const watcher = await mqtt.connectAsync(`mqtt://127.0.0.1:${env.mosquitto.tcp}`, { clientId: `lab-will-${randomUUID()}`, reconnectPeriod: 0 });
  try {
    const wills = [];
    watcher.on('message', (topic, payload) => wills.push(`${topic} ${payload}`));
    await watcher.subscribeAsync('lab/will/#', { qos: 1 });
    const form = await panels.connection('publisher');
    assert.equal(await form.getByLabel('Broker URL').inputValue(), broker);
    await form.getByLabel('Will topic').fill('lab/will/publisher');
    await form.getByLabel('Will message').fill('the publisher is gone');
    await form.getByLabel('Will QoS').selectOption('1');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await panels.waitConnected('publisher');
    const payload = `over mosquitto ${randomUUID()}`;
    await lab.publish('sensor/mosquitto', payload, '1');
    await lab.message(payload).waitFor();
    const connects = Number(await panels.status('publisher').getAttribute('data-connects'));
    await panels.faults.getByLabel('Client').selectOption('publisher');
    await panels.faults.getByRole('button', { name: 'Cut connection' }).click();
    const deadline = Date.now() + 10_000;
    while (!wills.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(wills, ['lab/will/publisher the publisher is gone']);
    // It reconnects by itself after the backoff.
    await page.locator(`[data-testid="status-publisher"][data-connects="${connects + 1}"][data-state="connected"]`).waitFor({ timeout: 15_000 });
    assert.deepEqual(errors, []);
    await screenshot(page, 'mosquitto');
  } finally {
    await watcher.endAsync();
    await context.close();
  }
});

test('several clients: an added subscriber connects and receives beside the first', async () => {
  const { context, page, panels, lab } = await open();
  try {
    await panels.clients.getByRole('button', { name: 'Add subscriber' }).click();
    await panels.waitConnected('subscriber-2');
    await panels.card('subscriber-2').getByTestId('subscription-status').getByText('Subscribed to sensor/# (granted QoS 0)').waitFor();
    const payload = `to both ${randomUUID()}`;
    await lab.publish('sensor/both', payload, '1');
    await panels.messages('subscriber', payload).waitFor();
    await panels.messages('subscriber-2', payload).waitFor();
    assert.equal(await panels.clients.getByTestId(/^client-/).count(), 3);
    await screenshot(page, 'several-clients');
  } finally {
    await context.close();
  }
});

test('publisher payload formats (text, JSON, hex), views, MQTT 5 properties, and repeating at a rate', async () => {
  const { context, page, panels, lab } = await open();
  try {
    const pub = panels.card('publisher');
    const sub = panels.card('subscriber');
    await pub.getByLabel('Format').selectOption('json');
    await lab.publish('sensor/json', '{"t": 21.5', '0');
    await pub.getByRole('alert').getByText(/not JSON/).waitFor();
    await lab.publish('sensor/json', '{"t":21.5,"unit":"C"}', '0');
    await sub.getByLabel('View').selectOption('json');
    await panels.messages('subscriber', '{\n  "t": 21.5,\n  "unit": "C"\n}').waitFor();
    await pub.getByLabel('Format').selectOption('hex');
    await lab.publish('sensor/hex', '48 69 21', '0');
    await sub.getByLabel('View').selectOption('text');
    await panels.messages('subscriber', 'Hi!').waitFor();
    await sub.getByLabel('View').selectOption('hex');
    await panels.messages('subscriber', '486921').waitFor();
    // MQTT 5: the properties appear with the version.
    assert.equal(await pub.getByLabel('Content type').count(), 0);
    const form = await panels.connection('publisher');
    await form.getByLabel('MQTT version').selectOption('5');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await panels.waitConnected('publisher');
    await pub.getByLabel('Content type').fill('text/plain');
    await pub.getByLabel('User property').fill('room=kitchen');
    await pub.getByLabel('Format').selectOption('text');
    await lab.publish('sensor/v5', 'with properties', '1');
    await sub.getByLabel('View').selectOption('text');
    await panels.messages('subscriber', 'with properties').waitFor();
    // The seeds' sensor: a temperature every 200 ms.
    await lab.topic.fill('sensor/temperature');
    await lab.payload.fill('Temperature: 22°C');
    await pub.getByLabel('Every (ms)').fill('200');
    await pub.getByRole('button', { name: 'Repeat' }).click();
    await page.waitForTimeout(1_100);
    await pub.getByRole('button', { name: 'Stop repeating' }).click();
    const sent = Number((await pub.getByTestId('sent-count').textContent()).split(' ')[0]);
    assert.ok(sent >= 5 && sent <= 12, `about 5 repeats plus the single publishes (${sent})`);
    await page.waitForTimeout(500);
    assert.equal(Number((await pub.getByTestId('sent-count').textContent()).split(' ')[0]), sent, 'stopped');
    await screenshot(page, 'publisher-formats');
  } finally {
    await context.close();
  }
});

test('subscriber options: MQTT 5 No Local, colour, and marked duplicates', async () => {
  const { context, page, panels, lab } = await open();
  try {
    const sub = panels.card('subscriber');
    await sub.getByLabel('Colour').fill('#c0392b');
    await sub.getByLabel('Mark duplicates').check();
    const payload = `twice ${randomUUID()}`;
    await lab.publish('sensor/dup', payload, '1');
    await lab.publish('sensor/dup', payload, '1');
    await panels.messages('subscriber', payload).nth(1).waitFor();
    assert.equal(await sub.getByTestId('badge-duplicate').count(), 1, 'the second copy is marked');
    const colour = await panels.messages('subscriber', payload).first().evaluate((li) => getComputedStyle(li).borderLeftColor);
    assert.equal(colour, 'rgb(192, 57, 43)');
    // No Local needs MQTT 5 on the subscriber, which then publishes itself.
    const form = await panels.connection('subscriber');
    await form.getByLabel('MQTT version').selectOption('5');
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await panels.waitConnected('subscriber');
    await sub.getByLabel('No Local').check();
    await sub.getByLabel('Retain Handling').selectOption('2');
    await sub.getByLabel('Filter').fill('sensor/nolocal');
    await sub.getByRole('button', { name: 'Subscribe' }).click();
    await sub.getByTestId('subscription-status').getByText('Subscribed to sensor/nolocal (granted QoS 0)').waitFor();
    await screenshot(page, 'subscriber-options');
  } finally {
    await context.close();
  }
});

test('a flood at 5,000 messages a second on # keeps the page responsive, with a bounded, virtualized list', async () => {
  const { context, page, panels, lab } = await open();
  try {
    await lab.subscribeTo('#', '0');
    await panels.handshakes.getByLabel('Record').uncheck();
    // 500 messages every 100 ms: 5,000 a second.
    await lab.topic.fill('flood/sensor');
    await lab.payload.fill('flood');
    await lab.publisher.getByLabel('Count').fill('500');
    await lab.publisher.getByLabel('Every (ms)').fill('100');
    await page.evaluate(() => {
      window.__gaps = [];
      let last = performance.now();
      const tick = () => {
        const now = performance.now();
        window.__gaps.push(now - last);
        last = now;
        if (window.__gaps.length < 5000) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
    await lab.publisher.getByRole('button', { name: 'Repeat' }).click();
    await page.waitForTimeout(2_000);
    await lab.publisher.getByRole('button', { name: 'Stop repeating' }).click();
    const sent = Number((await lab.publisher.getByTestId('sent-count').textContent()).split(' ')[0]);
    assert.ok(sent >= 8_000, `the flood ran at about 5,000 a second (${sent} in 2 s)`);
    await panels.card('subscriber').getByTestId('received-count').getByText(`${sent} received`).waitFor({ timeout: 30_000 });
    const gaps = await page.evaluate(() => window.__gaps.slice(1));
    const worst = Math.max(...gaps);
    console.log(`# flood: ${sent} messages, worst frame ${worst.toFixed(0)} ms`);
    assert.ok(worst < 250, `no frame waited a quarter of a second (worst ${worst.toFixed(0)} ms)`);
    const rows = await panels.card('subscriber').getByTestId('message').count();
    assert.ok(rows > 0 && rows <= 40, `only the rows in view are drawn (${rows})`);
    await screenshot(page, 'flood');
  } finally {
    await context.close();
  }
});

test('the handshake view draws every packet of QoS 1 and QoS 2 flows on both hops, with effective QoS', async () => {
  const { context, page, panels, lab } = await open();
  try {
    await lab.subscribeTo('sensor/#', '2');
    await lab.publish('sensor/hs2', `qos2 ${randomUUID()}`, '2');
    const q2 = panels.flow('sensor/hs2');
    await q2.getByTestId('step').nth(7).waitFor();
    const q2steps = await panels.steps(q2);
    const publisherSide = q2steps.filter((s) => s.startsWith('publisher'));
    const subscriberSide = q2steps.filter((s) => s.startsWith('subscriber'));
    assert.deepEqual(publisherSide, ['publisher PUBLISH to-broker', 'publisher PUBREC from-broker', 'publisher PUBREL to-broker', 'publisher PUBCOMP from-broker']);
    assert.deepEqual(subscriberSide, ['subscriber PUBLISH from-broker', 'subscriber PUBREC to-broker', 'subscriber PUBREL from-broker', 'subscriber PUBCOMP to-broker']);
    assert.match(await q2.locator('figcaption').textContent(), /publisher→broker QoS 2 · broker→subscriber QoS 2/);
    // Effective QoS: a QoS 1 subscription turns a QoS 2 publish into QoS 1 on the second hop.
    await lab.subscribeTo('sensor/#', '1');
    await lab.publish('sensor/hs21', `qos2to1 ${randomUUID()}`, '2');
    const q21 = panels.flow('sensor/hs21');
    await q21.getByTestId('step').nth(5).waitFor();
    const steps21 = await panels.steps(q21);
    assert.deepEqual(steps21.filter((s) => s.startsWith('subscriber')), ['subscriber PUBLISH from-broker', 'subscriber PUBACK to-broker']);
    assert.match(await q21.locator('figcaption').textContent(), /publisher→broker QoS 2 · broker→subscriber QoS 1/);
    assert.match(await q21.getByTestId('step').first().textContent(), /PUBLISH id=\d+ QoS 2/);
    await screenshot(page, 'handshakes');
  } finally {
    await context.close();
  }
});

test('faults: a dropped PUBACK is drawn, and the guided scenarios show what each QoS promises', async () => {
  const { context, page, panels, lab } = await open();
  try {
    await lab.subscribeTo('sensor/#', '1');
    await panels.faults.getByLabel('Client').selectOption('subscriber');
    await panels.faults.getByLabel('Packet').selectOption('4');
    await panels.faults.getByLabel('How many').fill('1');
    await panels.faults.getByRole('button', { name: 'Drop next' }).click();
    await lab.publish('sensor/drop', `drop my ack ${randomUUID()}`, '1');
    const flow = panels.flow('sensor/drop');
    await flow.locator('[data-testid="step"][data-fault="dropped"]').waitFor();
    assert.ok((await panels.steps(flow)).includes('subscriber PUBACK to-broker dropped'));
    await panels.faults.getByTestId('fault-log').getByText('dropped a PUBACK (type 4)').waitFor();
    // Stop subscriber, publish QoS 0/1/2, restart subscriber.
    await panels.faults.getByRole('button', { name: 'Stop subscriber, publish QoS 0/1/2, restart subscriber' }).click();
    const results = panels.faults.getByTestId('scenario-result');
    await results.nth(3).waitFor({ timeout: 30_000 });
    const rows = await results.allTextContents();
    // The scenario needs a kept session, and says it turned Clean session off.
    assert.match(rows[0], /^NoteClean session is now off for the subscriber/);
    assert.deepEqual(rows.slice(1), ['QoS 0lost', 'QoS 1delivered ×1', 'QoS 2delivered ×1']);
    // Lost acknowledgements: QoS 1 arrives again (DUP), QoS 2 exactly once.
    await panels.faults.getByRole('button', { name: "Drop the subscriber's acks, then cut its connection" }).click();
    await page.waitForTimeout(200);
    await results.nth(1).waitFor({ timeout: 30_000 });
    assert.deepEqual(await results.allTextContents(), ['QoS 1delivered ×2 (1 with DUP)', 'QoS 2delivered ×1 (0 with DUP)']);
    // The broker's resend carries DUP, and the handshake view draws it.
    const resent = panels.handshakes.locator('[data-testid="step"][data-side="subscriber"][data-packet="PUBLISH"][data-dup="true"]');
    assert.ok(await resent.count() >= 1, 'a DUP resend is drawn');
    await screenshot(page, 'faults');
  } finally {
    await context.close();
  }
});

test('faults: a duplicated PUBLISH arrives twice at QoS 1 and once at QoS 2; a delay holds packets back', async () => {
  const { context, page, panels, lab } = await open();
  try {
    await lab.subscribeTo('sensor/#', '2');
    await panels.faults.getByLabel('Client').selectOption('publisher');
    await panels.faults.getByLabel('Packet').selectOption('3');
    await panels.faults.getByLabel('How many').fill('1');
    for (const qos of ['1', '2']) {
      await panels.faults.getByRole('button', { name: 'Duplicate next' }).click();
      const payload = `twice at qos ${qos} ${randomUUID()}`;
      await lab.publish('sensor/dup', payload, qos);
      await lab.message(payload).first().waitFor();
      await page.waitForTimeout(500);
      // QoS 1 promises at least once: the copy is delivered. QoS 2 dedups by packet id.
      assert.equal(await lab.message(payload).count(), qos === '1' ? 2 : 1, `QoS ${qos}`);
    }
    await panels.faults.getByTestId('fault-log').getByText('duplicated a PUBLISH (type 3)').first().waitFor();
    await panels.faults.getByLabel('Delay (ms)').fill('600');
    await panels.faults.getByRole('button', { name: 'Apply delay' }).click();
    const payload = `held back ${randomUUID()}`;
    const sentAt = Date.now();
    await lab.publish('sensor/delay', payload, '0');
    await lab.message(payload).waitFor();
    const took = Date.now() - sentAt;
    assert.ok(took >= 550, `the delay held the packet back (${took} ms)`);
    await panels.faults.getByRole('button', { name: 'Clear faults' }).click();
    await screenshot(page, 'faults-duplicate-delay');
  } finally {
    await context.close();
  }
});

test('the broker inspector lists sessions, subscriptions and retained messages (and deletes one), with counters and a rate', async () => {
  const { context, page, panels, lab } = await open();
  try {
    const retained = `kept ${randomUUID()}`;
    await lab.publisher.getByLabel('Retain').check();
    await lab.publish('sensor/kept', retained, '1');
    await panels.inspector.getByTestId('session').nth(1).waitFor();
    const sessions = await panels.inspector.getByTestId('session').allTextContents();
    assert.ok(sessions.some((s) => s.includes('tabmq-lab-subscriber') && s.includes('sensor/# (QoS 0)')), sessions.join('\n'));
    const row = panels.inspector.getByTestId('retained-message').filter({ hasText: retained });
    await row.waitFor();
    assert.ok(Number(await panels.inspector.getByTestId('counter-publish-received').textContent()) >= 1);
    await row.getByRole('button', { name: 'Delete retained sensor/kept' }).click();
    await row.waitFor({ state: 'detached' });
    await panels.inspector.getByTestId('rate-chart').waitFor();
    await screenshot(page, 'inspector');
  } finally {
    await context.close();
  }
});

test('the QoS benchmark runs N messages at each QoS and shows a table and a chart', async () => {
  const { context, page, panels } = await open();
  try {
    await panels.bench.getByLabel('Messages').fill('50');
    await panels.bench.getByRole('button', { name: 'Run benchmark' }).click();
    const rows = panels.bench.getByTestId('bench-row');
    await rows.nth(2).waitFor({ timeout: 30_000 });
    const table = await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
    assert.deepEqual(table.map((r) => r.slice(0, 2)), [['0', '50'], ['1', '50'], ['2', '50']]);
    for (const r of table) assert.ok(Number(r[2]) > 0 && Number(r[3]) > 0, r.join(' '));
    assert.equal(await panels.bench.getByTestId('bench-chart').locator('rect').count(), 3);
    await screenshot(page, 'bench');
  } finally {
    await context.close();
  }
});

for (const [name, width, height] of [['desktop', 1280, 800], ['phone', 390, 844]]) {
  test(`design at ${width}×${height}: nothing overflows sideways, and every control has an accessible name`, async () => {
    const context = await env.browser.newContext({ viewport: { width, height } });
    try {
      const page = await context.newPage();
      await page.goto(env.server.url);
      await new LabPage(page).waitUntilConnected();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `no horizontal scrolling (${overflow}px too wide)`);
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea, button')]
        .filter((el) => {
          const labelled = el.labels?.length > 0 || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
          const text = el.tagName === 'BUTTON' && el.textContent.trim();
          return !labelled && !text;
        })
        .map((el) => el.outerHTML.slice(0, 80)));
      assert.deepEqual(unnamed, []);
      await screenshot(page, `design-${name}`);
    } finally {
      await context.close();
    }
  });
}
