// An app as a user writes it: MQTT.js-style code importing `tabmq` from npm.
import mqtt, { startBroker } from 'tabmq';

async function exchange(url, tag) {
  const a = await mqtt.connectAsync(url, { clientId: `vite-${tag}-a`, reconnectPeriod: 0 });
  const b = await mqtt.connectAsync(url, { clientId: `vite-${tag}-b`, reconnectPeriod: 0 });
  const got = new Promise((resolve) => {
    b.on('message', (topic, payload, packet) => {
      resolve({ topic, payload: new TextDecoder().decode(payload), qos: packet.qos });
    });
  });
  await b.subscribeAsync(`vite/${tag}`, { qos: 1 });
  await a.publishAsync(`vite/${tag}`, `hello from ${tag}`, { qos: 1, retain: true });
  const message = await got;
  await a.endAsync();
  await b.endAsync();
  return message;
}

window.__result = (async () => {
  const inTab = await exchange('tab://vite-app', 'tab');
  const broker = await startBroker({ name: 'vite-app' });
  const view = await broker.inspect();
  const deleted = await broker.deleteRetained('vite/tab');
  const after = await broker.inspect();
  const brokerUrl = new URLSearchParams(window.location.search).get('broker');
  const mosquitto = await exchange(brokerUrl, 'mosquitto');
  return {
    inTab,
    mosquitto,
    retained: view.retained.map((r) => `${r.topic}=${new TextDecoder().decode(r.payload)}`),
    deleted,
    retainedAfter: after.retained.length,
    messagesReceived: view.counters.publishReceived,
  };
})().catch((e) => ({ error: String(e?.message ?? e), code: e?.code }));
