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

// Round trips per library between turns.
const BLOCK = 20;

/** Connects one client per library in `libs` ({name: mqtt}), then runs `step(name, client)`
 *  in blocks of BLOCK per library, the libraries in turn and the order reversed every turn,
 *  until each has run `count` or the time limit passes; ends them; how many each ran.
 *  Round trips taken this way meet the same moment of the machine: drift on a shared 2-core
 *  machine, seconds long, moved ratios of runs taken one after the other by ±25%. Each block
 *  ends with a short rest, so that no library's last exchange (QoS 2's PUBREL and PUBCOMP
 *  after a delivery) overlaps the next library's block. */
async function inTurn(libs, url, { id, count }, setup, step) {
  const names = Object.keys(libs);
  const clients = {};
  for (const name of names) {
    clients[name] = await connect(libs[name], url, `${id}-${name}`, 20);
    await setup(name, clients[name]);
  }
  const t0 = performance.now();
  let done = 0;
  for (let turn = 0; done < count && performance.now() - t0 < LIMIT_MS; turn += 1) {
    const block = Math.min(BLOCK, count - done);
    for (const name of turn % 2 === 0 ? names : [...names].reverse()) {
      for (let i = 0; i < block; i += 1) await step(name, clients[name]);
      await sleep(5);
    }
    done += block;
  }
  for (const name of names) await clients[name].endAsync(true);
  await sleep(50);
  return done;
}

/** The seeds' sequential benchmark: `count` publishes per library, each waiting for its
 *  acknowledgement (QoS 1/2; QoS 0 has none and only hands the message over), the
 *  libraries in turn; ms per message for each. */
export async function sequential(libs, url, { id, qos, count }) {
  const spent = {};
  const done = await inTurn(libs, url, { id, count }, (name) => (spent[name] = 0), async (name, client) => {
    const start = performance.now();
    await client.publishAsync('benchmark/test', `message_${name}`, { qos });
    spent[name] += performance.now() - start;
  });
  return Object.fromEntries(Object.keys(libs).map((name) => [name, { ms: spent[name] / done, done }]));
}

/** Latency from publish to delivery on each client's own subscription, one message at a
 *  time, the libraries in turn; for each, the p50 and p99 in ms and how many round trips
 *  took over 50 ms (Mosquitto's stalls, see the notes). */
export async function latency(libs, url, { id, qos, count }) {
  const samples = {};
  const arrived = {};
  const setup = async (name, client) => {
    samples[name] = [];
    client.on('message', () => arrived[name]?.());
    await client.subscribeAsync(`bench/${id}/${name}`, { qos });
  };
  await inTurn(libs, url, { id, count }, setup, async (name, client) => {
    const start = performance.now();
    await new Promise((resolve) => {
      arrived[name] = resolve;
      client.publish(`bench/${id}/${name}`, '0123456789abcdef', { qos });
    });
    samples[name].push(performance.now() - start);
  });
  const at = (xs, q) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  return Object.fromEntries(
    Object.entries(samples).map(([name, xs]) => {
      xs.sort((a, b) => a - b);
      return [name, { p50: at(xs, 0.5), p99: at(xs, 0.99), n: xs.length, over50: xs.filter((x) => x > 50).length }];
    }),
  );
}

// A subscriber fed by a publisher outside the browser: `feedSubscribe` connects and
// subscribes, the bench then starts the publisher, and `feedResult` waits for the count.
// The subscriber is a library's client, or `null` for the ceiling: a bare WebSocket that
// sends a fixed CONNECT and SUBSCRIBE and counts the frames that come back, with no MQTT
// library to read them.
let feed = null;

/** The bytes of a packet: its first byte, its remaining length, its body. */
function packet(first, ...parts) {
  const body = parts.flatMap((p) => [...p]);
  const length = [];
  let n = body.length;
  do {
    length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>= 7;
  } while (n > 0);
  return new Uint8Array([first, ...length, ...body]);
}
const str = (s) => {
  const bytes = new TextEncoder().encode(s);
  return [bytes.length >> 8, bytes.length & 0xff, ...bytes];
};

/** The ceiling's subscriber: MQTT 3.1.1 CONNECT (clean session, keepalive 60) and
 *  SUBSCRIBE as constant bytes, then one count per frame. Resolves once the SUBACK came. */
function bareSubscriber(url, clientId, topic, qos, arrived) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'mqtt');
    ws.binaryType = 'arraybuffer';
    let acked = false;
    ws.onerror = () => reject(new Error(`bare WebSocket to ${url} failed`));
    ws.onopen = () => {
      ws.send(packet(0x10, str('MQTT'), [4, 0x02, 0, 60], str(clientId)));
      ws.send(packet(0x82, [0, 1], str(topic), [qos]));
    };
    ws.onmessage = (e) => {
      if (acked) {
        arrived();
        return;
      }
      // CONNACK, then SUBACK: the subscription is in place.
      if (new Uint8Array(e.data)[0] === 0x90) {
        acked = true;
        resolve({ endAsync: async () => ws.close() });
      }
    };
  });
}

/** Subscribes `mqtt` (or the bare WebSocket, for `null`) to `topic` and starts counting
 *  arrivals; the run ends at `count` arrivals or after `limitMs`. */
export async function feedSubscribe(mqtt, url, { id, topic, qos, count, limitMs }) {
  const state = { got: 0, first: 0, last: 0 };
  let done;
  state.done = new Promise((resolve) => (done = resolve));
  const arrived = () => {
    const now = performance.now();
    if (state.got === 0) state.first = now;
    state.last = now;
    state.got += 1;
    if (state.got === count) done();
  };
  state.client = mqtt
    ? await connect(mqtt, url, `${id}-s`, 64)
    : await bareSubscriber(url, `${id}-s`, topic, qos, arrived);
  if (mqtt) {
    state.client.on('message', arrived);
    await state.client.subscribeAsync(topic, { qos });
  }
  state.timer = setTimeout(done, limitMs);
  feed = state;
}

/** Waits for the run `feedSubscribe` began; messages/s between the first arrival and
 *  the last, and how many arrived. */
export async function feedResult() {
  const state = feed;
  feed = null;
  await state.done;
  clearTimeout(state.timer);
  await state.client.endAsync(true);
  const seconds = (state.last - state.first) / 1000;
  return { got: state.got, rate: state.got > 1 && seconds > 0 ? (state.got - 1) / seconds : 0 };
}
