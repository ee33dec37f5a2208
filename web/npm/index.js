// tabmq: MQTT.js's client API over tabmq's Rust/wasm client, plus the broker in a tab.
//
// Connections run on the page's thread, as MQTT.js's do (connection.js drives the wasm
// engine), so a message costs no hop between threads; their timers run in a worker, so
// that keepalive keeps time when Chrome throttles a background tab (schedule.js).
//
// The one difference from MQTT.js: payloads are Uint8Array, not Buffer.

import { Connection } from './connection.js';
import { TabSocket, forgetTabBroker, openBrokerPort, tabBroker } from './tab-socket.js';

/** An `Error` with a `code`, and `extra` fields such as `reasonCode`. */
const error = (code, message, extra) => Object.assign(new Error(message), { code }, extra);

// Written out in full so that bundlers (Vite, webpack 5) find and bundle the workers.
function makeBrokerWorker(shared, name) {
  return shared
    ? new SharedWorker(new URL('./broker-worker.js', import.meta.url), { type: 'module', name })
    : new Worker(new URL('./broker-worker.js', import.meta.url), { type: 'module', name });
}

// The client's wasm comes in two builds, each with its glue in a chunk of its own: MQTT 3.1.1
// for protocolVersion 3 and 4 (MQTT.js's default), and MQTT 5, whose properties make it
// 5.6 KB gzip larger. Each is loaded the first time a connection asks for it, so a page
// fetches only the one it uses. The import()s are written out for bundlers.
const builds = {
  4: { glue: () => import('./wasm/tabmq_client.js'), ready: null, wasm: undefined },
  5: { glue: () => import('./wasm/tabmq_client5.js'), ready: null, wasm: undefined },
};

/** The wasm class of `build`, loaded from `wasm` (or where `init` said, or beside this file)
 *  the first time. A failure rejects with `WASM_FAILED`, and the next call tries again from
 *  the package's own file. */
function load(build, wasm) {
  build.ready ??= (async () => {
    const glue = await build.glue();
    const from = wasm ?? build.wasm;
    await glue.default(from === undefined ? undefined : { module_or_path: from });
    return glue.Client;
  })().catch((err) => {
    build.ready = null;
    build.wasm = undefined;
    throw error('WASM_FAILED', `the client's wasm could not be loaded: ${err?.message ?? err}`);
  });
  return build.ready;
}

/** Loads the client's MQTT 3.1.1 wasm; `connect` calls it. Pass a URL (or a
 *  `WebAssembly.Module`) when the package's `wasm/tabmq_client_bg.wasm` is served from
 *  somewhere else, and `wasm5` for `wasm/tabmq_client5_bg.wasm`, the MQTT 5 build that the
 *  first `protocolVersion: 5` connection loads. Rejects with code `WASM_FAILED` if the wasm
 *  does not load (and a later call tries again). */
export function init(wasm, wasm5) {
  builds[5].wasm = wasm5 ?? builds[5].wasm;
  return load(builds[4], wasm).then(() => undefined);
}

/** The control target of the broker a `tab://` URL (or its parts) names, started or joined. */
async function brokerControl(tab) {
  try {
    return await tabBroker(tab, makeBrokerWorker);
  } catch (e) {
    throw error('IN_TAB_BROKER_FAILED', e.message);
  }
}

/** Opens the connection `url` names. The client reads the options it knows and leaves
 *  the rest (MQTT.js's); each attempt at a `tab://` broker gets a port of its own. */
async function openConnection(url, options, onEvent) {
  const Client = await load(builds[options.protocolVersion === 5 ? 5 : 4]);
  let store = null;
  if (options.persist === 'indexeddb') {
    try {
      // Loaded only here: a page without `persist` never fetches it.
      const { openSessionStore } = await import('./session-store.js');
      store = await openSessionStore(options.clientId);
    } catch (e) {
      onEvent({ type: 'error', error: error('NO_SESSION_STORE', `no IndexedDB: ${e?.message ?? e}`) });
    }
  }
  const client = new Client(url, { ...options, persist: store ? 'indexeddb' : undefined }, store?.saved, Math.random() * 2 ** 53);
  if (client.sessionSetAside) console.warn(`tabmq: ignoring the saved session of ${options.clientId}: ${client.sessionSetAside}`);
  const openTab = async (tab) => openBrokerPort(await brokerControl(tab), 'connect');
  return new Connection(client, onEvent, openTab, store);
}

const REASONS = {
  0x80: 'Unspecified error', 0x83: 'Implementation specific error', 0x87: 'Not authorized',
  0x8f: 'Topic Filter invalid', 0x90: 'Topic Name invalid', 0x91: 'Packet identifier in use',
  0x97: 'Quota exceeded', 0x99: 'Payload format invalid', 0x9e: 'Shared Subscriptions not supported',
  0xa1: 'Subscription Identifiers not supported', 0xa2: 'Wildcard Subscriptions not supported',
};

/** A failure code from the broker, as MQTT.js reports it: `code` is the reason code. */
function reasonError(what, code) {
  return Object.assign(new Error(`${what} error: ${REASONS[code] ?? `reason code ${code}`}`), { code });
}

function noop() {}

/** The last packet of a publish flow as MQTT.js reports it; undefined for QoS 0. */
function sentLast(topic, payload, qos, retain, properties) {
  if (qos === 1) return { cmd: 'publish', topic, payload, qos, retain, dup: false, ...(properties ? { properties } : {}) };
  if (qos === 2) return { cmd: 'pubrel', qos: 2 };
  return undefined;
}

// A small EventEmitter with Node's method names, so no polyfill is needed.
class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  on(event, listener) {
    const list = this._listeners.get(event) ?? [];
    list.push(listener);
    this._listeners.set(event, list);
    this._listenersChanged(event);
    return this;
  }

  addListener(event, listener) {
    return this.on(event, listener);
  }

  once(event, listener) {
    const wrapper = (...args) => {
      this.off(event, wrapper);
      listener.apply(this, args);
    };
    wrapper.listener = listener;
    return this.on(event, wrapper);
  }

  off(event, listener) {
    const list = this._listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l === listener || l.listener === listener);
      if (i >= 0) list.splice(i, 1);
      this._listenersChanged(event);
    }
    return this;
  }

  removeListener(event, listener) {
    return this.off(event, listener);
  }

  removeAllListeners(event) {
    if (event === undefined) this._listeners.clear();
    else this._listeners.delete(event);
    this._listenersChanged(event);
    return this;
  }

  listeners(event) {
    return (this._listeners.get(event) ?? []).map((l) => l.listener ?? l);
  }

  listenerCount(event) {
    return this._listeners.get(event)?.length ?? 0;
  }

  emit(event, ...args) {
    const list = this._listeners.get(event);
    if (!list || list.length === 0) return false;
    for (const listener of [...list]) listener.apply(this, args);
    return true;
  }

  _listenersChanged() {}
}

function randomClientId() {
  return `tabmq_${Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, '0')}`;
}

/** The broker URL MQTT.js would reach from `url` and `options`, in the browser. */
/** The URL MQTT.js's connect options name (the machine reads it: mqtt:// is WebSocket in a
 *  browser, an unknown scheme is refused). */
function brokerUrl(url, options) {
  if (typeof url === 'string') return url;
  const o = options ?? {};
  const protocol = (o.protocol ?? 'ws').replace(/:$/, '');
  const host = o.hostname ?? o.host ?? 'localhost';
  const port = o.port ? `:${o.port}` : '';
  return `${protocol}://${host}${port}${o.path ?? (protocol === 'tab' ? '' : '/mqtt')}`;
}

/** Subscriptions in mqtt-packet's shape from MQTT.js's three argument forms. */
function toSubscriptions(topics, opts, version) {
  const base = { qos: 0, ...(version === 5 ? { nl: false, rap: false, rh: 0 } : {}), ...(opts ?? {}) };
  const one = (topic, o) => {
    const sub = { topic, qos: o.qos ?? 0 };
    if (version === 5) Object.assign(sub, { nl: o.nl ?? false, rap: o.rap ?? false, rh: o.rh ?? 0 });
    return sub;
  };
  if (typeof topics === 'string') return [one(topics, base)];
  if (Array.isArray(topics)) return topics.map((t) => one(t, base));
  return Object.keys(topics)
    .filter((t) => t !== 'resubscribe')
    .map((t) => one(t, { ...base, ...topics[t] }));
}

/** MQTT.js's error for a filter it refuses before sending; other errors as they are. */
function asFilterError(err, topics) {
  return err.code === 'INVALID_TOPIC' ? Object.assign(new Error(`Invalid topic ${topics.join(', ')}`), { code: err.code }) : err;
}

/** MQTT.js's MqttClient, over tabmq's client. Make one with `connect`. */
export class MqttClient extends Emitter {
  constructor(url, options = {}) {
    super();
    if (typeof url === 'object' && url !== null) {
      options = url;
      url = undefined;
    }
    this.options = {
      protocolVersion: 4,
      keepalive: 60,
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: 30_000,
      resubscribe: true,
      queueQoSZero: true,
      ...options,
    };
    this.options.clientId ??= randomClientId();
    this.options.href = brokerUrl(url, options);
    this.connected = false;
    this.reconnecting = false;
    this.disconnecting = false;
    this.disconnected = false;
    this._raw = null;
    this._waiting = [];
    openConnection(this.options.href, { ...this.options, trace: this._traced() }, (e) => this._machineEvent(e))
      .then(
        (raw) => {
          this._raw = raw;
          // Listeners added since connect() (MQTT.js's usual order) turn tracing on now.
          this._listenersChanged();
          for (const run of this._waiting.splice(0)) run(raw);
        },
        (err) => {
          this.emit('error', err);
          this._event('close');
          this._event('end');
        },
      );
  }

  _traced() {
    return this.listenerCount('packetsend') + this.listenerCount('packetreceive') > 0;
  }

  _listenersChanged(event) {
    if (this._raw && (event === undefined || event === 'packetsend' || event === 'packetreceive')) {
      this._raw.setTrace(this._traced());
    }
  }

  /** Runs `f(raw)` once the connection is open. */
  _with(f) {
    if (this._raw) f(this._raw);
    else this._waiting.push(f);
  }

  /** One of the machine's events (pollEvent in client_for_js.rs) as MQTT.js's. */
  _machineEvent(e) {
    switch (e.type) {
      case 'message':
        return this.emit('message', e.packet.topic, e.packet.payload, e.packet);
      case 'connected': {
        const code = this.options.protocolVersion === 5 ? 'reasonCode' : 'returnCode';
        return this._event('connect', { cmd: 'connack', sessionPresent: e.sessionPresent, [code]: 0 });
      }
      case 'closed': {
        if (e.byBroker) this.emit('disconnect', { cmd: 'disconnect', reasonCode: e.reasonCode });
        const coded = e.reasonCode !== undefined;
        if (e.error) this.emit('error', error(e.error, coded ? `${e.reason} with code ${e.reasonCode}` : e.reason, coded ? { reasonCode: e.reasonCode } : {}));
        return this._event('close');
      }
      case 'transportfailed':
        this.emit('error', error('CONNECT_FAILED', 'the WebSocket could not be opened'));
        return this._event('close');
      case 'error':
        return this.emit('error', e.error);
      default: // reconnect, offline, end; packetsend and packetreceive with their packet
        return e.packet ? this._event(e.type, e.packet) : this._event(e.type);
    }
  }

  _event(type, ...args) {
    switch (type) {
      case 'connect':
        this.connected = true;
        this.reconnecting = false;
        this.disconnected = false;
        break;
      case 'reconnect':
        this.reconnecting = true;
        break;
      case 'close':
        this.connected = false;
        break;
      case 'end':
        this.connected = false;
        this.reconnecting = false;
        this.disconnecting = false;
        this.disconnected = true;
        break;
      default:
    }
    this.emit(type, ...args);
  }

  /** A command the machine refused at once, answered as MQTT.js answers it: to the
   *  callback, in a later task; without one, a refusal because the client is ending (or
   *  not connected) is an 'error' event, and a bad topic is dropped. */
  _refused(callback, err) {
    if (callback) setTimeout(callback, 0, err);
    else if (err.code === 'NOT_CONNECTED') this.emit('error', err);
  }

  publish(topic, message, opts, callback) {
    if (typeof opts === 'function') {
      callback = opts;
      opts = null;
    }
    const { qos = 0, retain = false, properties } = opts ?? {};
    this._with((raw) => {
      let sent;
      try {
        sent = raw.publish(topic, message, qos, retain, properties, Boolean(callback) || qos > 0);
      } catch (err) {
        if (callback) callback(err);
        else this.emit('error', err);
        return;
      }
      if (!sent) return;
      sent.then(
        // MQTT.js answers with the last packet it sent for the flow: the PUBLISH (QoS 1)
        // or the PUBREL (QoS 2).
        () => (callback ?? noop)(undefined, sentLast(topic, message, qos, retain, properties)),
        (err) => {
          const failure = err.code === 'BROKER_REFUSED' ? reasonError('Publish', err.reasonCode) : err;
          if (callback) callback(failure);
          else this.emit('error', failure);
        },
      );
    });
    return this;
  }

  publishAsync(topic, message, opts) {
    return new Promise((resolve, reject) => {
      this.publish(topic, message, opts, (err, packet) => (err ? reject(err) : resolve(packet)));
    });
  }

  subscribe(topics, opts, callback) {
    if (typeof opts === 'function') {
      callback = opts;
      opts = null;
    }
    const given = callback;
    callback ??= noop;
    const version = this.options.protocolVersion;
    const subs = toSubscriptions(topics, opts, version);
    if (subs.length === 0) {
      callback(null, []);
      return this;
    }
    this._with((raw) => {
      let answer;
      try {
        answer = raw.subscribe(subs, opts?.properties);
      } catch (err) {
        this._refused(given, asFilterError(err, subs.map((x) => x.topic)));
        return;
      }
      answer.then(
        (codes) => {
          const granted = subs.map((s, i) => ({ ...s, qos: codes[i] }));
          const failed = codes.find((c) => (c & 0x80) !== 0);
          const err = failed === undefined ? null : Object.assign(new Error(`Subscribe error: ${REASONS[failed] ?? failed}`), { code: failed });
          callback(err, granted, { cmd: 'suback', granted: codes });
        },
        (err) => callback(err, subs),
      );
    });
    return this;
  }

  subscribeAsync(topics, opts) {
    return new Promise((resolve, reject) => {
      this.subscribe(topics, opts, (err, granted) => (err ? reject(err) : resolve(granted)));
    });
  }

  unsubscribe(topic, opts, callback) {
    if (typeof opts === 'function') {
      callback = opts;
      opts = null;
    }
    const given = callback;
    callback ??= noop;
    const topics = typeof topic === 'string' ? [topic] : topic;
    this._with((raw) => {
      let answer;
      try {
        answer = raw.unsubscribe(topics, opts?.properties);
      } catch (err) {
        this._refused(given, asFilterError(err, topics));
        return;
      }
      answer.then(
        () => callback(null, { cmd: 'unsuback' }),
        (err) => callback(err),
      );
    });
    return this;
  }

  unsubscribeAsync(topic, opts) {
    return new Promise((resolve, reject) => {
      this.unsubscribe(topic, opts, (err, packet) => (err ? reject(err) : resolve(packet)));
    });
  }

  /** Sends DISCONNECT and stops; without `force`, once what waits for the broker is done. */
  end(force, opts, cb) {
    if (force == null || typeof force !== 'boolean') {
      cb = cb || opts;
      opts = force;
      force = false;
    }
    if (typeof opts !== 'object') {
      cb = cb || opts;
      opts = null;
    }
    cb = typeof cb === 'function' ? cb : noop;
    if (this.disconnecting || this.disconnected) {
      cb();
      return this;
    }
    this.disconnecting = true;
    this.once('end', () => cb());
    // Without `force`, the client ends once what waits for the broker is answered.
    this._with((raw) => raw.end(force, opts ?? undefined));
    return this;
  }

  endAsync(force, opts) {
    return new Promise((resolve) => {
      this.end(force, opts, () => resolve());
    });
  }

  /** Connects again now: after `end()`, or to skip the backoff's wait. */
  reconnect() {
    this.disconnecting = false;
    this.disconnected = false;
    this._with((raw) => raw.reconnect());
    return this;
  }
}

/** MQTT.js's `connect(url, options)`: returns at once; listen for `connect`. URLs:
 *  `ws://`, `wss://` (and `mqtt://`, `mqtts://` as WebSocket, like MQTT.js in a browser),
 *  and `tab://NAME[?shared][&persist=indexeddb]` for the broker in the tab. */
export function connect(url, options) {
  return new MqttClient(url, options);
}

/** Resolves once connected; rejects with the first error. */
export function connectAsync(url, options) {
  return new Promise((resolve, reject) => {
    const client = connect(url, options);
    const onError = (err) => {
      client.off('connect', onConnect);
      client.end(true);
      reject(err);
    };
    const onConnect = () => {
      client.off('error', onError);
      resolve(client);
    };
    client.once('connect', onConnect);
    client.once('error', onError);
  });
}

/** The in-tab broker, to inspect or stop. */
export class Broker {
  constructor(control, url) {
    this._control = control;
    this.url = url;
    this.shared = !(control instanceof Worker);
  }

  /** Asks the broker's worker; its answer comes on a port of its own. */
  _ask(message) {
    return new Promise((resolve) => {
      const { port1, port2 } = new MessageChannel();
      port1.onmessage = ({ data }) => {
        port1.close();
        resolve(data);
      };
      this._control.postMessage(message, [port2]);
    });
  }

  /** `{ sessions, retained, counters }`. */
  inspect() {
    return this._ask({ type: 'inspect' });
  }

  /** Deletes the retained message on `topic`; resolves with whether there was one. */
  async deleteRetained(topic) {
    return (await this._ask({ type: 'deleteRetained', topic })) === true;
  }

  /** Stops this page's broker; a shared one runs on for the other tabs. */
  stop() {
    forgetTabBroker(this.url);
    if (this.shared) this._control.close();
    else this._control.terminate();
  }
}

/** Starts the broker `tab://NAME` names (or joins it): the same broker `connect` reaches
 *  with that URL. */
export async function startBroker({ name = 'default', shared = false, persist } = {}) {
  const params = [shared ? 'shared' : null, persist ? `persist=${persist}` : null].filter(Boolean);
  const url = `tab://${name}${params.length ? `?${params.join('&')}` : ''}`;
  return new Broker(await brokerControl(url), url);
}

/** A WebSocket-compatible connection to the in-tab broker `url` names, for MQTT.js's
 *  `createWebsocket` option. */
export function tabSocket(url) {
  return new TabSocket(url, { makeWorker: makeBrokerWorker });
}

export { TabSocket };

export default { connect, connectAsync, MqttClient, startBroker, tabSocket, init };
