// The in-tab broker benchmark's cases, run in a page: fan-in and fan-out through tabmq's
// broker in a Worker (clients from the npm package, on the page's thread) and through
// mqtt5-wasm's broker on the page; and the ceiling, a bare MessagePort echo between the
// page and a worker. Every loop is bounded by a count and a time limit.

import { closedLoop } from './closed-loop.js';

const LIMIT_MS = 15_000;

/** tabmq clients of the broker `tab://NAME`, through MQTT.js's API. */
export function tabmqBroker(tabmq, name, window) {
  return {
    async client(id) {
      const c = await tabmq.connectAsync(`tab://${name}`, { clientId: id, reconnectPeriod: 0, maxInflight: window });
      return {
        async subscribe(topic, qos, onMessage) {
          c.on('message', (_topic, payload) => onMessage(payload));
          await c.subscribeAsync(topic, { qos });
        },
        publish: (topic, payload, qos) => c.publish(topic, payload, { qos }),
        close: () => c.endAsync(true),
      };
    },
    close() {},
  };
}

/** mqtt5-wasm clients of one mqtt5-wasm Broker on this page, over its client ports. */
export function mqtt5WasmBroker(m5) {
  // Anonymous clients, as tabmq's in-tab broker allows by default.
  const config = new m5.BrokerConfig();
  config.allowAnonymous = true;
  const broker = m5.Broker.withConfig(config);
  const ignore = () => {};
  return {
    async client(id) {
      const c = new m5.MqttClient(id);
      await c.connectMessagePort(broker.createClientPort());
      return {
        async subscribe(topic, qos, onMessage) {
          const options = new m5.SubscribeOptions();
          options.qos = qos;
          await c.subscribeWithOptions(topic, (_topic, payload) => onMessage(payload), options);
        },
        publish(topic, payload, qos) {
          const sent = qos === 0 ? c.publish(topic, payload) : qos === 1 ? c.publishQos1(topic, payload, ignore) : c.publishQos2(topic, payload, ignore);
          sent.catch(ignore);
        },
        close: () => c.disconnect().catch(ignore),
      };
    },
    close: () => broker.free?.(),
  };
}

/** `publishers` to `subscribers`, every subscriber on every publisher's messages; each
 *  publisher keeps `window` messages between publish and delivery to all subscribers.
 *  Deliveries per second. */
export async function fan(broker, { id, publishers, subscribers, qos, count, window, size = 16 }) {
  const delivered = new Array(publishers).fill(0);
  const subs = [];
  let total = 0;
  const expected = publishers * count * subscribers;
  let finish;
  const done = new Promise((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(() => finish(), LIMIT_MS);
  const pubs = [];
  const pumps = [];
  for (let s = 0; s < subscribers; s += 1) {
    const c = await broker.client(`${id}-s${s}`);
    await c.subscribe(`fan/${id}/#`, qos, (payload) => {
      const from = payload[0];
      delivered[from] += 1;
      total += 1;
      if (total >= expected) finish();
      else pumps[from]?.();
    });
    subs.push(c);
  }
  for (let p = 0; p < publishers; p += 1) pubs.push(await broker.client(`${id}-p${p}`));
  const t0 = performance.now();
  pubs.forEach((c, p) => {
    const payload = new Uint8Array(size).fill(0x61);
    payload[0] = p;
    let sent = 0;
    pumps[p] = () => {
      while (sent < count && sent - delivered[p] / subscribers < window) {
        c.publish(`fan/${id}/${p}`, payload, qos);
        sent += 1;
      }
    };
    pumps[p]();
  });
  await done;
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  for (const c of [...pubs, ...subs]) await c.close();
  return { rate: total / seconds, total, expected };
}

/** The ceiling: the same bytes echoed by a worker over a bare MessagePort, `window` at a
 *  time, one message per postMessage; messages/s round trip. */
export async function echo({ count, window, size = 32 }) {
  const worker = new Worker(new URL('./echo-worker.js', import.meta.url), { type: 'module' });
  const { port1, port2 } = new MessageChannel();
  worker.postMessage(port2, [port2]);
  const { got, seconds } = await closedLoop({
    count,
    window,
    limitMs: LIMIT_MS,
    send: () => {
      const bytes = new Uint8Array(size).fill(0x61).buffer;
      port1.postMessage(bytes, [bytes]);
    },
    listen: (arrived) => {
      port1.onmessage = arrived;
    },
  });
  const rate = got / seconds;
  worker.terminate();
  return { rate };
}
