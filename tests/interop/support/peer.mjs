// MQTT.js clients that record what they observe, with every wait bounded.

import mqtt from 'mqtt';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function within(ms, promise, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

const KEPT_PROPERTIES = [
  'userProperties', 'contentType', 'payloadFormatIndicator', 'responseTopic',
  'correlationData', 'subscriptionIdentifier', 'messageExpiryInterval',
];

/**
 * Connects `id` to `broker`; resolves with a recorder once CONNACK arrives (or the
 * connection is refused, recorded as `refused`).
 * opts: v5, ws, clean, keepalive, properties, will.
 */
export async function connect(broker, id, opts = {}) {
  const url = opts.ws ? `ws://127.0.0.1:${broker.ws}` : `mqtt://127.0.0.1:${broker.tcp}`;
  const c = mqtt.connect(url, {
    clientId: id,
    protocolVersion: opts.v5 ? 5 : 4,
    clean: opts.clean ?? true,
    keepalive: opts.keepalive ?? 60,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    properties: opts.properties,
    will: opts.will,
    username: opts.username,
    password: opts.password,
  });
  const peer = { c, messages: [], connack: null, disconnect: null, closed: false, error: null };
  c.on('message', (topic, payload, packet) => {
    const props = {};
    for (const k of KEPT_PROPERTIES) {
      const v = packet.properties?.[k];
      if (v === undefined) continue;
      props[k] = Buffer.isBuffer(v) ? v.toString('hex') : v;
    }
    peer.messages.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, ...(Object.keys(props).length ? { props } : {}) });
  });
  c.on('disconnect', (packet) => { peer.disconnect = packet.reasonCode ?? 0; });
  c.on('close', () => { peer.closed = true; });
  c.on('error', (e) => { peer.error = e.code ?? e.message; });
  await within(5000, new Promise((resolve) => {
    c.once('connect', (ack) => { peer.connack = { code: ack.returnCode ?? ack.reasonCode ?? 0, sessionPresent: ack.sessionPresent }; resolve(); });
    c.once('error', (e) => { peer.refused = e.code ?? String(e.message); resolve(); });
    c.once('close', resolve);
  }), `CONNECT ${id}`);
  peer.sub = async (filter, opts = {}) => {
    const granted = await within(5000, c.subscribeAsync(filter, opts), `SUBSCRIBE ${filter}`);
    return granted.map((g) => g.qos);
  };
  peer.pub = (topic, payload, opts = {}) => within(5000, c.publishAsync(topic, payload, opts), `PUBLISH ${topic}`);
  peer.end = () => within(5000, c.endAsync(), `end ${id}`).catch(() => {});
  peer.kill = () => { c.stream.destroy(); c.end(true); };
  peer.payloads = () => peer.messages.map((m) => m.payload);
  return peer;
}

/** Waits until `peer` has `n` messages, or `ms` passed; never longer. */
export async function until(peer, n, ms = 2000) {
  const end = Date.now() + ms;
  while (peer.messages.length < n && Date.now() < end) await sleep(10);
  return peer.messages;
}
