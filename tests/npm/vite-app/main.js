// An app as a user writes it: MQTT.js-style code importing `tabmq` from npm.
import mqtt, { startBroker } from 'tabmq';

// `protocolVersion` picks the client build: the bundler must have kept both (3.1.1 and 5).
async function exchange(url, tag, protocolVersion) {
  const options = { reconnectPeriod: 0, protocolVersion };
  const a = await mqtt.connectAsync(url, { ...options, clientId: `vite-${tag}-a` });
  const b = await mqtt.connectAsync(url, { ...options, clientId: `vite-${tag}-b` });
  const got = new Promise((resolve) => {
    b.on('message', (topic, payload, packet) => {
      const { qos, properties } = packet;
      resolve({ topic, payload: new TextDecoder().decode(payload), qos, v5: Boolean(properties?.userProperties?.by) });
    });
  });
  await b.subscribeAsync(`vite/${tag}`, { qos: 1 });
  const properties = protocolVersion === 5 ? { userProperties: { by: tag } } : undefined;
  await a.publishAsync(`vite/${tag}`, `hello from ${tag}`, { qos: 1, retain: true, properties });
  const message = await got;
  await a.endAsync();
  await b.endAsync();
  return message;
}

// The broker's own statistics ($SYS/#, retained as Mosquitto keeps them, published from
// its start) are not what this app stored.
const own = (retained) => retained.filter((r) => !r.topic.startsWith('$SYS/'));

window.__result = (async () => {
  const inTab = await exchange('tab://vite-app', 'tab', 4);
  const broker = await startBroker({ name: 'vite-app' });
  const view = await broker.inspect();
  const deleted = await broker.deleteRetained('vite/tab');
  const after = await broker.inspect();
  const brokerUrl = new URLSearchParams(window.location.search).get('broker');
  const mosquitto = await exchange(brokerUrl, 'mosquitto', 5);
  return {
    inTab,
    mosquitto,
    retained: own(view.retained).map((r) => `${r.topic}=${new TextDecoder().decode(r.payload)}`),
    deleted,
    retainedAfter: own(after.retained).length,
    messagesReceived: view.counters.publishReceived,
  };
})().catch((e) => ({ error: String(e?.message ?? e), code: e?.code }));
