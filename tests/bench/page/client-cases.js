// The browser client benchmark's cases, run in a page for either library: the same code
// through MQTT.js's API, which tabmq also speaks. Every loop is bounded by a count and a
// time limit; a run that hits the limit reports what it did in that time.

import { closedLoop } from './closed-loop.js';

const LIMIT_MS = 15_000;
// Pipelined runs stop sooner: Mosquitto's WebSocket listener can stall on large frames.
const PIPELINE_LIMIT_MS = 5_000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Counts every WebSocket frame the page sends and receives, in `globalThis.wsFrames`.
 *  Both libraries create their sockets from the global `WebSocket` when they connect. */
export function countFrames() {
  const count = { out: 0, in: 0 };
  globalThis.wsFrames = count;
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function countedSend(data) {
    count.out += 1;
    return send.call(this, data);
  };
  const Base = WebSocket;
  globalThis.WebSocket = class CountedWebSocket extends Base {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => {
        count.in += 1;
      });
    }
  };
}

async function connect(mqtt, url, clientId, window) {
  // `maxInflight` is tabmq's window; MQTT.js has none, and the closed loops below keep
  // both at `window` messages in flight anyway.
  return mqtt.connectAsync(url, { clientId, reconnectPeriod: 0, maxInflight: window, keepalive: 60 });
}

/** Pipelined throughput, in a closed loop: a publisher keeps `window` messages between
 *  publish and delivery to a subscriber of the same library; messages/s delivered, and
 *  the WebSocket frames both clients sent and received meanwhile (with `countFrames`). */
export async function pipelined(mqtt, url, { id, qos, size, count, window }) {
  const topic = `bench/${id}`;
  const sub = await connect(mqtt, url, `${id}-s`, window);
  const pub = await connect(mqtt, url, `${id}-p`, window);
  await sub.subscribeAsync(topic, { qos });
  const payload = new Uint8Array(size).fill(0x61);
  const before = globalThis.wsFrames ? { ...globalThis.wsFrames } : null;
  const { got, sent, seconds } = await closedLoop({
    count,
    window,
    limitMs: PIPELINE_LIMIT_MS,
    send: () => pub.publish(topic, payload, { qos }),
    listen: (arrived) => sub.on('message', arrived),
  });
  const frames = before && { out: globalThis.wsFrames.out - before.out, in: globalThis.wsFrames.in - before.in };
  await pub.endAsync(true);
  await sub.endAsync(true);
  return { rate: got / seconds, got, sent, frames };
}

/** The seeds' sequential benchmark: `count` publishes, each waiting for its
 *  acknowledgement (QoS 1/2; QoS 0 has none and only hands the message over); ms per
 *  message. */
export async function sequential(mqtt, url, { id, qos, count }) {
  const client = await connect(mqtt, url, `${id}-q`, 20);
  const t0 = performance.now();
  let done = 0;
  while (done < count && performance.now() - t0 < LIMIT_MS) {
    await client.publishAsync('benchmark/test', `message_${done}`, { qos });
    done += 1;
  }
  const ms = (performance.now() - t0) / done;
  await client.endAsync(true);
  return { ms, done };
}

/** Latency from publish to delivery on the client's own subscription, one message at a
 *  time; the p50 and p99 in ms. */
export async function latency(mqtt, url, { id, qos, count }) {
  const topic = `bench/${id}/echo`;
  const client = await connect(mqtt, url, `${id}-l`, 20);
  await client.subscribeAsync(topic, { qos });
  const samples = [];
  let arrived = null;
  client.on('message', () => arrived?.());
  const t0 = performance.now();
  while (samples.length < count && performance.now() - t0 < LIMIT_MS) {
    const start = performance.now();
    await new Promise((resolve) => {
      arrived = resolve;
      client.publish(topic, '0123456789abcdef', { qos });
    });
    samples.push(performance.now() - start);
  }
  await client.endAsync(true);
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  await sleep(50);
  return { p50: at(0.5), p99: at(0.99), n: samples.length };
}
