// The lab shows only what the client or broker confirmed (issue 18, bugs 1 and 2), against
// the in-tab broker and against real Mosquitto:
// - a filter the client refuses (`a/#/b`, `a/b#`, empty) is shown as refused, with the
//   statement it breaks, and the card stays subscribed to its previous filter;
// - a SUBSCRIBE that never reaches the broker (dropped by fault injection) leaves the card
//   waiting for SUBACK, never "Subscribed".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { LabPanels } from './support/lab-page.mjs';
import { openLab, useLab } from './support/fixture.mjs';

const env = useLab({ mosquitto: true });

const brokers = {
  'in-tab broker': () => '',
  Mosquitto: () => `?broker=${encodeURIComponent(`ws://127.0.0.1:${env.mosquitto.ws}`)}`,
};

for (const [name, query] of Object.entries(brokers)) {
  test(`${name}: a refused filter is shown as refused and the previous subscription stays`, async () => {
    const { context, lab, errors } = await openLab(env, query());
    try {
      await lab.subscription.getByText('Subscribed to sensor/# (granted QoS 0)', { exact: true }).waitFor();
      for (const [filter, statement] of [['a/#/b', 'MQTT-4.7.1-2'], ['a/b#', 'MQTT-4.7.1-2'], ['', 'MQTT-4.7.3-1']]) {
        await lab.filter.fill(filter);
        await lab.subscribeButton.click();
        await lab.refusal.getByText(`Not subscribed to ${filter}: the client refused it`).waitFor();
        const refusal = await lab.refusal.textContent();
        assert.ok(refusal.includes(statement), `the refusal of "${filter}" names ${statement}: ${refusal}`);
        assert.equal(await lab.subscription.textContent(), 'Subscribed to sensor/# (granted QoS 0)', `after "${filter}"`);
      }
      // The broker still holds the old filter: a message on it arrives.
      const payload = `still-${randomUUID()}`;
      await lab.publish('sensor/still', payload);
      await lab.message(payload).waitFor();
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
    }
  });

  test(`${name}: a SUBSCRIBE dropped before the broker leaves the card waiting for SUBACK`, async () => {
    const { context, page, lab } = await openLab(env, query());
    const panels = new LabPanels(page);
    try {
      await lab.subscription.getByText('Subscribed to sensor/# (granted QoS 0)', { exact: true }).waitFor();
      await panels.faults.getByLabel('Client').selectOption('subscriber');
      await panels.faults.getByLabel('Packet').selectOption('8');
      await panels.faults.getByLabel('How many').fill('1');
      await panels.faults.getByRole('button', { name: 'Drop next' }).click();
      await lab.filter.fill('other/#');
      await lab.subscriptionQos.selectOption('2');
      await lab.subscribeButton.click();
      await lab.subscription.getByText('Subscribing to other/# (QoS 2): waiting for SUBACK', { exact: true }).waitFor();
      await panels.faults.getByTestId('fault-log').getByText('dropped a packet of type 8').waitFor();
      // A broker on loopback answers in milliseconds; 1.5 s without SUBACK is no answer.
      await page.waitForTimeout(1_500);
      const status = await lab.subscription.textContent();
      assert.equal(status, 'Subscribing to other/# (QoS 2): waiting for SUBACK');
      // Asked again without the fault, the broker grants it, and only then the card says so.
      await lab.subscribeButton.click();
      await lab.subscription.getByText('Subscribed to other/# (granted QoS 2)', { exact: true }).waitFor();
    } finally {
      await context.close();
    }
  });
}

for (const [name, query] of Object.entries(brokers)) {
  test(`${name}: a QoS 1 message that never reached the broker is reported lost, not just "sent"`, async () => {
    const { context, page, lab } = await openLab(env, query());
    const panels = new LabPanels(page);
    try {
      await panels.faults.getByLabel('Client').selectOption('publisher');
      await panels.faults.getByLabel('Packet').selectOption('3');
      await panels.faults.getByLabel('How many').fill('1');
      await panels.faults.getByRole('button', { name: 'Drop next' }).click();
      const payload = `lost-${randomUUID()}`;
      await lab.publish('sensor/lost', payload, '1');
      await panels.faults.getByTestId('fault-log').getByText('dropped a packet of type 3').waitFor();
      assert.equal(await lab.publisher.getByTestId('acknowledged-count').textContent(), '0 acknowledged');
      // The publisher's session is clean: cut, it comes back without the message.
      await panels.faults.getByRole('button', { name: 'Cut connection' }).click();
      await lab.publisher.getByTestId('lost-count').getByText('1 lost', { exact: true }).waitFor();
      const why = await lab.publisher.getByTestId('message-lost').textContent();
      assert.match(why, /^Message 1 to sensor\/lost \(QoS 1\) lost: /);
      assert.equal(await lab.message(payload).count(), 0, 'the message did not arrive');
      // The next one is acknowledged and arrives.
      const next = `next-${randomUUID()}`;
      await lab.publish('sensor/next', next, '1');
      await lab.publisher.getByTestId('acknowledged-count').getByText('1 acknowledged', { exact: true }).waitFor();
      await lab.message(next).waitFor();
    } finally {
      await context.close();
    }
  });
}

test('the seeds\' persistent session: stop the subscriber, publish QoS 1, reload, and it arrives (Mosquitto)', async () => {
  const { context, page, lab } = await openLab(env, brokers.Mosquitto());
  const panels = new LabPanels(page);
  try {
    const form = await panels.connection('subscriber');
    await form.getByLabel('Clean session').uncheck();
    await form.getByRole('button', { name: 'Connect', exact: true }).click();
    await panels.waitConnected('subscriber');
    const id = await form.getByLabel('Client ID').inputValue();
    const topic = `persist-${randomUUID().slice(0, 8)}`;
    await lab.subscribeTo(`${topic}/#`, '1');
    await form.getByRole('button', { name: 'Disconnect' }).click();
    await page.locator('[data-testid="status-subscriber"][data-state="disconnected"]').waitFor();
    const payload = `kept-${randomUUID()}`;
    await lab.publish(`${topic}/x`, payload, '1');
    await lab.publisher.getByTestId('acknowledged-count').getByText('1 acknowledged', { exact: true }).waitFor();
    await page.reload();
    await lab.waitUntilConnected();
    // Same tab, same client id, same session: Mosquitto hands over what it queued.
    const again = await panels.connection('subscriber');
    assert.equal(await again.getByLabel('Client ID').inputValue(), id);
    await lab.message(payload).waitFor();
    await lab.subscription.getByText(`Subscribed to ${topic}/# (granted QoS 1)`, { exact: true }).waitFor();
  } finally {
    await context.close();
  }
});

test('a ?broker= in the page URL is for that load only: the next visit is back on the in-tab broker', async () => {
  const { context, page } = await openLab(env, brokers.Mosquitto());
  const panels = new LabPanels(page);
  try {
    const form = await panels.connection('subscriber');
    assert.match(await form.getByLabel('Broker URL').inputValue(), /^ws:\/\/127\.0\.0\.1:/);
    await page.goto(env.server.url);
    await new LabPanels(page).waitConnected('subscriber');
    const plain = await new LabPanels(page).connection('subscriber');
    assert.equal(await plain.getByLabel('Broker URL').inputValue(), 'tab://lab');
  } finally {
    await context.close();
  }
});
