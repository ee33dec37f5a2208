// One scenario suite written against MQTT.js's documented API. It runs in a browser page
// twice, once with `mqtt` and once with `tabmq` as `lib`, against the same broker; each
// scenario returns what a user of the library observes, and the two runs must agree.
//
// Observations are plain data: payloads as text, and only the fields MQTT.js documents.

const text = (payload) => new TextDecoder().decode(payload);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
}

/** Resolves with the event's first argument; rejects after `ms`. */
function once(emitter, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    emitter.once(event, (arg) => {
      clearTimeout(timer);
      resolve(arg);
    });
  });
}

async function until(condition, ms = 5000) {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) return false;
    await sleep(20);
  }
  return true;
}

function collect(client) {
  const got = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload: text(payload), qos: packet.qos, retain: packet.retain });
  });
  return got;
}

/** The callback of a callback-style call, as `[err, result]`. */
function call(f) {
  return new Promise((resolve) => f((err, result) => resolve([err, result])));
}

const errorShape = (err) => (err ? { error: true, ...(typeof err.code === 'number' ? { code: err.code } : {}) } : { error: false });

function scenarios(mqtt, ctx) {
  const ids = new Set();
  const id = (name) => {
    ids.add(name);
    return `${ctx.prefix}-${name}`;
  };
  const topic = (name) => `dropin/${ctx.prefix}/${name}`;
  const open = async (name, options = {}) => {
    const client = mqtt.connect(ctx.url, { clientId: id(name), reconnectPeriod: 0, ...options });
    await once(client, 'connect');
    return client;
  };
  const settle = () => sleep(150);

  /** Publishes at `pubQos` to a subscriber at `subQos`; what the subscriber sees. */
  const roundTrip = async (name, pubQos, subQos, version = 4) => {
    const sub = await open(`${name}-sub`, { protocolVersion: version });
    const got = collect(sub);
    await sub.subscribeAsync(topic(name), { qos: subQos });
    const pub = await open(`${name}-pub`, { protocolVersion: version });
    await pub.publishAsync(topic(name), `hello ${name}`, { qos: pubQos });
    check(await until(() => got.length >= 1), 'the message arrived');
    await settle();
    await pub.endAsync();
    await sub.endAsync();
    return got;
  };

  return {
    'connect (3.1.1): connect event, connected, no session present': async () => {
      const client = mqtt.connect(ctx.url, { clientId: id('c4'), reconnectPeriod: 0 });
      const connack = await once(client, 'connect');
      const seen = { connected: client.connected, sessionPresent: connack.sessionPresent };
      await client.endAsync();
      return { ...seen, afterEnd: client.connected };
    },
    'connect (5.0): connect event, connected, no session present': async () => {
      const client = mqtt.connect(ctx.url, { clientId: id('c5'), protocolVersion: 5, reconnectPeriod: 0 });
      const connack = await once(client, 'connect');
      const seen = { connected: client.connected, sessionPresent: connack.sessionPresent };
      await client.endAsync();
      return seen;
    },
    'QoS 0 round trip': () => roundTrip('q0', 0, 0),
    'QoS 1 round trip': () => roundTrip('q1', 1, 1),
    'QoS 2 round trip': () => roundTrip('q2', 2, 2),
    'QoS 2 round trip (5.0)': () => roundTrip('q2v5', 2, 2, 5),
    'effective QoS: published at 2 to a QoS 1 subscription arrives at 1': () => roundTrip('eff21', 2, 1),
    'effective QoS: published at 2 to a QoS 0 subscription arrives at 0': () => roundTrip('eff20', 2, 0),
    'effective QoS: published at 0 to a QoS 2 subscription arrives at 0': () => roundTrip('eff02', 0, 2),
    'subscribe to a string gives [{topic, qos}]': async () => {
      const c = await open('grant1');
      const granted = await c.subscribeAsync(topic('g1'), { qos: 1 });
      await c.endAsync();
      return granted;
    },
    'subscribe to an array of topics': async () => {
      const c = await open('grant2');
      const granted = await c.subscribeAsync([topic('a'), topic('b')], { qos: 2 });
      await c.endAsync();
      return granted;
    },
    'subscribe with an object of topics and options': async () => {
      const c = await open('grant3');
      const [err, granted] = await call((cb) => c.subscribe({ [topic('x')]: { qos: 0 }, [topic('y')]: { qos: 2 } }, cb));
      await c.endAsync();
      return { ...errorShape(err), granted };
    },
    'subscribe (5.0) grants carry nl, rap and rh': async () => {
      const c = await open('grant5', { protocolVersion: 5 });
      const granted = await c.subscribeAsync(topic('g5'), { qos: 1, nl: true, rap: true, rh: 1 });
      await c.endAsync();
      return granted.map(({ topic: t, qos, nl, rap, rh }) => ({ topic: t, qos, nl, rap, rh }));
    },
    'single-level wildcard +': async () => {
      const sub = await open('plus-sub');
      const got = collect(sub);
      await sub.subscribeAsync(`${topic('plus')}/+/temp`, { qos: 1 });
      const pub = await open('plus-pub');
      for (const room of ['kitchen', 'hall/upstairs', 'garage']) {
        await pub.publishAsync(`${topic('plus')}/${room}/temp`, room, { qos: 1 });
      }
      await until(() => got.length >= 2);
      await settle();
      await pub.endAsync();
      await sub.endAsync();
      return got.map((m) => m.payload).sort();
    },
    'multi-level wildcard #': async () => {
      const sub = await open('hash-sub');
      const got = collect(sub);
      await sub.subscribeAsync(`${topic('hash')}/#`, { qos: 1 });
      const pub = await open('hash-pub');
      for (const t of ['a', 'a/b', 'a/b/c']) await pub.publishAsync(`${topic('hash')}/${t}`, t, { qos: 1 });
      await pub.publishAsync(`${topic('other')}/a`, 'outside', { qos: 1 });
      await until(() => got.length >= 3);
      await settle();
      await pub.endAsync();
      await sub.endAsync();
      return got.map((m) => m.payload).sort();
    },
    'retained message reaches a later subscriber with the retain flag': async () => {
      const pub = await open('ret-pub');
      await pub.publishAsync(topic('ret'), 'kept', { qos: 1, retain: true });
      const sub = await open('ret-sub');
      const got = collect(sub);
      await sub.subscribeAsync(topic('ret'), { qos: 1 });
      await until(() => got.length >= 1);
      await pub.publishAsync(topic('ret'), 'live', { qos: 1 });
      await until(() => got.length >= 2);
      await settle();
      await pub.publishAsync(topic('ret'), '', { qos: 1, retain: true });
      await pub.endAsync();
      await sub.endAsync();
      return got;
    },
    'an empty retained message clears it': async () => {
      const pub = await open('clr-pub');
      await pub.publishAsync(topic('clr'), 'old', { qos: 1, retain: true });
      await pub.publishAsync(topic('clr'), '', { qos: 1, retain: true });
      const sub = await open('clr-sub');
      const got = collect(sub);
      await sub.subscribeAsync(topic('clr'), { qos: 1 });
      await sleep(300);
      await pub.endAsync();
      await sub.endAsync();
      return got;
    },
    'unsubscribe stops delivery': async () => {
      const sub = await open('uns-sub');
      const got = collect(sub);
      await sub.subscribeAsync(topic('uns'), { qos: 1 });
      const pub = await open('uns-pub');
      await pub.publishAsync(topic('uns'), 'before', { qos: 1 });
      await until(() => got.length >= 1);
      const [err] = await call((cb) => sub.unsubscribe(topic('uns'), cb));
      await pub.publishAsync(topic('uns'), 'after', { qos: 1 });
      await sleep(300);
      await pub.endAsync();
      await sub.endAsync();
      return { ...errorShape(err), got: got.map((m) => m.payload) };
    },
    'unsubscribeAsync resolves': async () => {
      const c = await open('unsa');
      await c.subscribeAsync([topic('u1'), topic('u2')]);
      await c.unsubscribeAsync([topic('u1'), topic('u2')]);
      await c.endAsync();
      return 'resolved';
    },
    'will is published when the connection drops (end(true))': async () => {
      const watcher = await open('will-watch');
      const got = collect(watcher);
      await watcher.subscribeAsync(topic('will'), { qos: 1 });
      const dying = await open('will-dying', { will: { topic: topic('will'), payload: 'gone', qos: 1, retain: false } });
      dying.end(true);
      check(await until(() => got.length >= 1), 'the will arrived');
      await settle();
      await watcher.endAsync();
      return got;
    },
    'no will after a clean end()': async () => {
      const watcher = await open('nowill-watch');
      const got = collect(watcher);
      await watcher.subscribeAsync(topic('nowill'), { qos: 1 });
      const leaving = await open('nowill-leaving', { will: { topic: topic('nowill'), payload: 'gone', qos: 1 } });
      await leaving.endAsync();
      await sleep(400);
      await watcher.endAsync();
      return got;
    },
    'persistent session: QoS 1 and 2 queued while offline arrive on resume': async () => {
      const first = await open('ps-sub', { clean: false });
      await first.subscribeAsync(topic('ps'), { qos: 2 });
      await first.endAsync();
      const pub = await open('ps-pub');
      await pub.publishAsync(topic('ps'), 'q1 while away', { qos: 1 });
      await pub.publishAsync(topic('ps'), 'q2 while away', { qos: 2 });
      await pub.publishAsync(topic('ps'), 'q0 while away', { qos: 0 });
      await pub.endAsync();
      const again = mqtt.connect(ctx.url, { clientId: id('ps-sub'), clean: false, reconnectPeriod: 0 });
      const got = collect(again);
      const connack = await once(again, 'connect');
      await until(() => got.length >= 2);
      await settle();
      await again.endAsync();
      const cleaner = await open('ps-sub', { clean: true });
      await cleaner.endAsync();
      return { sessionPresent: connack.sessionPresent, got: got.map((m) => `${m.payload} @${m.qos}`).sort() };
    },
    'clean session: nothing queued survives': async () => {
      const first = await open('cs-sub', { clean: true });
      await first.subscribeAsync(topic('cs'), { qos: 1 });
      await first.endAsync();
      const pub = await open('cs-pub');
      await pub.publishAsync(topic('cs'), 'lost', { qos: 1 });
      await pub.endAsync();
      const again = mqtt.connect(ctx.url, { clientId: id('cs-sub'), clean: true, reconnectPeriod: 0 });
      const got = collect(again);
      const connack = await once(again, 'connect');
      await sleep(300);
      await again.endAsync();
      return { sessionPresent: connack.sessionPresent, got };
    },
    'session expiry (5.0): a session with an expiry interval resumes': async () => {
      const opts = { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 60 } };
      const first = await open('se-sub', opts);
      await first.subscribeAsync(topic('se'), { qos: 1 });
      await first.endAsync();
      const pub = await open('se-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('se'), 'kept for 60 s', { qos: 1 });
      await pub.endAsync();
      const again = mqtt.connect(ctx.url, { clientId: id('se-sub'), reconnectPeriod: 0, ...opts });
      const got = collect(again);
      const connack = await once(again, 'connect');
      await until(() => got.length >= 1);
      await again.endAsync();
      const cleaner = await open('se-sub', { protocolVersion: 5, clean: true });
      await cleaner.endAsync();
      return { sessionPresent: connack.sessionPresent, got };
    },
    'user properties (5.0) arrive with the message': async () => {
      const sub = await open('up-sub', { protocolVersion: 5 });
      const packets = [];
      sub.on('message', (t, p, packet) => packets.push(packet.properties?.userProperties));
      await sub.subscribeAsync(topic('up'), { qos: 1 });
      const pub = await open('up-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('up'), 'x', { qos: 1, properties: { userProperties: { room: 'kitchen', unit: 'C' } } });
      await until(() => packets.length >= 1);
      await pub.endAsync();
      await sub.endAsync();
      return packets;
    },
    'content type, response topic and correlation data (5.0) arrive': async () => {
      const sub = await open('rr-sub', { protocolVersion: 5 });
      const seen = [];
      sub.on('message', (t, p, packet) => {
        const { contentType, responseTopic, correlationData } = packet.properties ?? {};
        seen.push({ contentType, responseTopic, correlationData: correlationData && text(correlationData) });
      });
      await sub.subscribeAsync(topic('rr'), { qos: 1 });
      const pub = await open('rr-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('rr'), '{}', {
        qos: 1,
        properties: { contentType: 'application/json', responseTopic: topic('rr/reply'), correlationData: new TextEncoder().encode('req-7') },
      });
      await until(() => seen.length >= 1);
      await pub.endAsync();
      await sub.endAsync();
      return seen;
    },
    'No Local (5.0): a client does not get its own messages': async () => {
      const c = await open('nl', { protocolVersion: 5 });
      const got = collect(c);
      await c.subscribeAsync(topic('nl'), { qos: 1, nl: true });
      await c.publishAsync(topic('nl'), 'mine', { qos: 1 });
      const other = await open('nl-other', { protocolVersion: 5 });
      await other.publishAsync(topic('nl'), 'theirs', { qos: 1 });
      await until(() => got.length >= 1);
      await settle();
      await other.endAsync();
      await c.endAsync();
      return got.map((m) => m.payload);
    },
    'Retain As Published (5.0) keeps the retain flag on live delivery': async () => {
      const sub = await open('rap-sub', { protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync({ [topic('rap/on')]: { qos: 1, rap: true }, [topic('rap/off')]: { qos: 1, rap: false } });
      const pub = await open('rap-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('rap/on'), 'on', { qos: 1, retain: true });
      await pub.publishAsync(topic('rap/off'), 'off', { qos: 1, retain: true });
      await until(() => got.length >= 2);
      await pub.publishAsync(topic('rap/on'), '', { qos: 1, retain: true });
      await pub.publishAsync(topic('rap/off'), '', { qos: 1, retain: true });
      await settle();
      await pub.endAsync();
      await sub.endAsync();
      return got.filter((m) => m.payload).sort((a, b) => a.payload.localeCompare(b.payload));
    },
    'Retain Handling 2 (5.0): no retained messages on subscribe': async () => {
      const pub = await open('rh-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('rh'), 'retained', { qos: 1, retain: true });
      const sub = await open('rh-sub', { protocolVersion: 5 });
      const got = collect(sub);
      await sub.subscribeAsync(topic('rh'), { qos: 1, rh: 2 });
      await sleep(300);
      await pub.publishAsync(topic('rh'), '', { qos: 1, retain: true });
      await pub.endAsync();
      await sub.endAsync();
      return got.filter((m) => m.payload);
    },
    'subscription identifier (5.0) comes back on delivery': async () => {
      const sub = await open('sid-sub', { protocolVersion: 5 });
      const ids = [];
      sub.on('message', (t, p, packet) => ids.push(packet.properties?.subscriptionIdentifier));
      await sub.subscribeAsync(topic('sid'), { qos: 1, properties: { subscriptionIdentifier: 42 } });
      const pub = await open('sid-pub', { protocolVersion: 5 });
      await pub.publishAsync(topic('sid'), 'x', { qos: 1 });
      await until(() => ids.length >= 1);
      await pub.endAsync();
      await sub.endAsync();
      return ids;
    },
    'messages keep their order (20 at QoS 1)': async () => {
      const sub = await open('ord-sub');
      const got = collect(sub);
      await sub.subscribeAsync(topic('ord'), { qos: 1 });
      const pub = await open('ord-pub');
      await Promise.all(Array.from({ length: 20 }, (_, i) => pub.publishAsync(topic('ord'), String(i), { qos: 1 })));
      await until(() => got.length >= 20);
      await pub.endAsync();
      await sub.endAsync();
      return got.map((m) => Number(m.payload));
    },
    'publishAsync resolves at every QoS': async () => {
      const c = await open('pa');
      const results = [];
      for (const qos of [0, 1, 2]) {
        const packet = await c.publishAsync(topic('pa'), 'x', { qos });
        results.push(packet === undefined ? 'undefined' : packet.cmd);
      }
      await c.endAsync();
      return results;
    },
    'publish callback is called without error at QoS 1': async () => {
      const c = await open('pcb');
      const [err] = await call((cb) => c.publish(topic('pcb'), 'x', { qos: 1 }, cb));
      await c.endAsync();
      return errorShape(err);
    },
    'binary payloads arrive byte for byte': async () => {
      const sub = await open('bin-sub');
      const got = [];
      sub.on('message', (t, payload) => got.push(Array.from(payload)));
      await sub.subscribeAsync(topic('bin'), { qos: 1 });
      const pub = await open('bin-pub');
      await pub.publishAsync(topic('bin'), new Uint8Array([0, 1, 2, 254, 255]), { qos: 1 });
      await until(() => got.length >= 1);
      await pub.endAsync();
      await sub.endAsync();
      return got;
    },
    'an empty payload arrives empty': async () => roundTripEmpty(),
    'a 100 KB payload arrives whole': async () => {
      const sub = await open('big-sub');
      const got = [];
      sub.on('message', (t, payload) => got.push(payload.length));
      await sub.subscribeAsync(topic('big'), { qos: 1 });
      const pub = await open('big-pub');
      await pub.publishAsync(topic('big'), new Uint8Array(100 * 1024).fill(7), { qos: 1 });
      await until(() => got.length >= 1);
      await pub.endAsync();
      await sub.endAsync();
      return got;
    },
    'a # subscription does not receive $SYS topics': async () => {
      const sub = await open('sys-sub');
      const got = collect(sub);
      await sub.subscribeAsync('#', { qos: 0 });
      await sleep(400);
      await sub.endAsync();
      return got.filter((m) => m.topic.startsWith('$')).length;
    },
    'packetsend/packetreceive show the QoS 2 handshake': async () => {
      const c = await open('hs');
      const steps = [];
      c.on('packetsend', (p) => ['publish', 'pubrel'].includes(p.cmd) && steps.push(`> ${p.cmd}`));
      c.on('packetreceive', (p) => ['pubrec', 'pubcomp'].includes(p.cmd) && steps.push(`< ${p.cmd}`));
      await c.publishAsync(topic('hs'), 'x', { qos: 2 });
      await c.endAsync();
      return steps;
    },
    'end() emits close then end, and endAsync resolves': async () => {
      const c = await open('end');
      const events = [];
      c.on('close', () => events.push('close'));
      c.on('end', () => events.push('end'));
      await c.endAsync();
      await settle();
      return { events: events.filter((e, i) => events.indexOf(e) === i), connected: c.connected };
    },
    'error: subscribing to an invalid filter fails in the callback': async () => {
      const c = await open('badsub');
      const [err] = await call((cb) => c.subscribe('a/#/b', cb));
      await c.endAsync();
      return errorShape(err);
    },
    'error: unsubscribing an invalid filter fails in the callback': async () => {
      const c = await open('badunsub');
      const [err] = await call((cb) => c.unsubscribe('a/+b', cb));
      await c.endAsync();
      return errorShape(err);
    },
    'error: publishing after end() fails in the callback': async () => {
      const c = await open('late');
      c.end();
      const [err] = await call((cb) => c.publish(topic('late'), 'x', { qos: 1 }, cb));
      await once(c, 'end').catch(() => {});
      return errorShape(err);
    },
    "error: every command after end() fails in the callback, in MQTT.js's words": async () => {
      const c = await open('late2');
      c.end();
      const [p] = await call((cb) => c.publish(topic('late2'), 'x', { qos: 1 }, cb));
      const [s] = await call((cb) => c.subscribe(topic('late2'), { qos: 1 }, cb));
      const [u] = await call((cb) => c.unsubscribe(topic('late2'), cb));
      await once(c, 'end').catch(() => {});
      return [p, s, u].map((err) => ({ ...errorShape(err), message: err?.message }));
    },
    'error: with queueQoSZero false, a QoS 0 publish while not connected fails in the callback': async () => {
      const c = mqtt.connect(ctx.deadUrl, { clientId: id('noqueue'), reconnectPeriod: 0, connectTimeout: 2000, queueQoSZero: false });
      c.on('error', () => {});
      const [err] = await call((cb) => c.publish(topic('noqueue'), 'x', { qos: 0 }, cb));
      c.end(true);
      return { ...errorShape(err), message: err?.message };
    },
    'error: an unreachable broker never connects, and closes': async () => {
      const c = mqtt.connect(ctx.deadUrl, { clientId: id('dead'), reconnectPeriod: 0, connectTimeout: 2000 });
      let connected = false;
      c.on('connect', () => { connected = true; });
      c.on('error', () => {});
      await once(c, 'close', 8000);
      c.end(true);
      return { connected };
    },
  };

  async function roundTripEmpty() {
    const sub = await open('empty-sub');
    const got = collect(sub);
    await sub.subscribeAsync(topic('empty'), { qos: 1 });
    const pub = await open('empty-pub');
    await pub.publishAsync(topic('empty'), '', { qos: 1 });
    await until(() => got.length >= 1);
    await pub.endAsync();
    await sub.endAsync();
    return got;
  }
}

/** Runs every scenario with `mqtt` (the library's default export); `ctx` has `url`,
 *  `deadUrl` and `prefix`. Resolves with `{ name: observation | { failed: message } }`. */
export async function runAll(mqtt, ctx) {
  const results = {};
  for (const [name, scenario] of Object.entries(scenarios(mqtt, ctx))) {
    try {
      results[name] = await Promise.race([
        scenario(),
        sleep(20_000).then(() => { throw new Error('timed out after 20 s'); }),
      ]);
    } catch (err) {
      results[name] = { failed: String(err?.message ?? err) };
    }
  }
  return results;
}
