// One MQTT connection: tabmq's sans-IO engine (Rust, in wasm) driven by JavaScript's own
// WebSocket, MessagePort, timers and IndexedDB. The engine holds the codec, the QoS flows
// and the session; this file only moves bytes and time in and events out, so the wasm
// carries no browser bindings. It runs on the page's thread, as MQTT.js does, with its
// timers kept in a worker (schedule.js).
//
// After every input the driver sends what `pollTransmit` gives (one buffer: one frame per
// turn, or per burst under load), handles what `pollEvent` gives, then arms its timer at
// `pollTimeout`.

import { Backoff, Engine } from './wasm/tabmq_client.js';
import { cancel, later, nextTask } from './schedule.js';

/** An `Error` with a `code`, and `extra` fields such as `reasonCode`. */
export const codedError = (code, message, extra) => Object.assign(new Error(message), { code }, extra);
const fail = codedError;

const now = () => performance.now();

// How long `end()` waits for the WebSocket's close handshake.
const CLOSE_WAIT_MS = 1000;

// The same database as the Rust client's IdbSessionStore, one key per client id.
const DB = 'tabmq-client-sessions';
const STORE = 'state';

const done = (r) => new Promise((resolve, reject) => {
  r.onsuccess = () => resolve(r.result);
  r.onerror = () => reject(r.error);
});

async function openSessionStore(clientId) {
  const open = indexedDB.open(DB, 1);
  open.onupgradeneeded = () => open.result.createObjectStore(STORE);
  const db = await done(open);
  const saved = await done(db.transaction(STORE).objectStore(STORE).get(clientId));
  const save = (bytes) => new Promise((resolve) => {
    const tx = db.transaction(STORE, 'readwrite');
    tx.objectStore(STORE).put(bytes, clientId);
    tx.oncomplete = () => resolve(true);
    // A full disk must not stall the connection: the bytes go out anyway.
    tx.onerror = tx.onabort = () => resolve(false);
  });
  return { saved: saved instanceof Uint8Array ? saved : undefined, save };
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export class Connection {
  /** `emit(type, ...args)` gets MQTT.js's events. `connector` is a port on which the
   *  in-tab broker opens connections; without it `url` is a WebSocket URL. */
  static async open(url, options, emit, connector) {
    let store = null;
    if (options.persist === 'indexeddb') {
      try {
        store = await openSessionStore(options.clientId);
      } catch (e) {
        emit('error', fail('NO_SESSION_STORE', `no IndexedDB: ${e?.message ?? e}`));
      }
    }
    let engine;
    try {
      engine = new Engine(options, store?.saved);
    } catch (e) {
      if (e.code !== 'INVALID_SESSION') throw e;
      console.warn(`tabmq: ignoring the saved session of ${options.clientId}: ${e.message}`);
      engine = new Engine(options);
    }
    return new Connection(engine, url, options, emit, connector, store);
  }

  constructor(engine, url, options, emit, connector, store) {
    Object.assign(this, { engine, url, emit, connector, store });
    this.v5 = options.protocolVersion === 5;
    const period = options.reconnectPeriod ?? 1000;
    this.reconnects = period > 0;
    this.backoff = new Backoff(period, options.reconnectPeriodMax ?? 60_000);
    this.connectTimeout = options.connectTimeout ?? 30_000;
    this.resubscribe = options.resubscribe ?? true;
    this.queueQoSZero = options.queueQoSZero ?? true;
    this.link = null;
    this.waiters = new Map(); // packet id -> { resolve, reject }
    this.pending = []; // commands waiting for a connection
    this.subscriptions = new Map(); // topic -> subscription, to resubscribe
    this.held = []; // {link, bytes, written} waiting for their session to be saved
    this.written = []; // QoS 0 publishes' {resolve, reject}, settled once their bytes are sent
    this.lastSaved = new Uint8Array(0);
    this.saving = false;
    this.afterSave = [];
    this.scheduled = false;
    this.busy = false;
    this.attempted = false;
    this.connectedOnce = false;
    this.stopped = false;
    this.ending = false;
    this.timer = null;
    this.deadline = Infinity;
    this.retry = null;
    this.connectTimer = null;
    // Back online: try at once rather than at the end of the backoff's wait.
    this._onOnline = () => {
      if (this.ending || this.link) return;
      this.backoff.reset();
      this._open();
    };
    globalThis.addEventListener?.('online', this._onOnline);
    this._open();
  }

  // --- links ---------------------------------------------------------------------------

  _open() {
    const offline = this.url && globalThis.navigator?.onLine === false;
    if (this.stopped || this.link || offline) return;
    cancel(this.retry);
    this.retry = null;
    if (this.attempted) this.emit('reconnect');
    this.attempted = true;
    try {
      this.link = this.url ? this._socket() : this._port();
    } catch {
      this._failed();
      return;
    }
    if (this.connectTimeout > 0) {
      cancel(this.connectTimer);
      const link = this.link;
      this.connectTimer = later(() => {
        if (this.link === link && this.engine.state !== 'connected') link.cut();
      }, this.connectTimeout);
    }
  }

  _socket() {
    const ws = new WebSocket(this.url, 'mqtt');
    ws.binaryType = 'arraybuffer';
    let opened = false;
    let closed;
    const link = {
      send: (bytes) => ws.send(bytes),
      close: () => ws.close(),
      cut: () => ws.close(),
      closed: new Promise((resolve) => {
        closed = resolve;
      }),
    };
    ws.onopen = () => {
      opened = true;
      this._attach(link);
    };
    ws.onmessage = (e) => this._input(link, new Uint8Array(e.data));
    ws.onclose = () => {
      closed();
      this._down(link, opened);
    };
    return link;
  }

  _port() {
    const { port1: port, port2 } = new MessageChannel();
    this.connector.postMessage({ type: 'connect' }, [port2]);
    const link = {
      send: (bytes) => port.postMessage(bytes.buffer, [bytes.buffer]),
      close: () => port.close(),
      // "close" tells the broker the connection dropped (so the will goes out).
      cut: () => {
        port.postMessage('close');
        port.close();
        queueMicrotask(() => this._down(link, true));
      },
    };
    port.onmessage = (e) => {
      if (e.data instanceof ArrayBuffer) this._input(link, new Uint8Array(e.data));
      else if (e.data === 'close') this._down(link, true);
    };
    queueMicrotask(() => this._attach(link));
    return link;
  }

  _attach(link) {
    if (link !== this.link) return;
    try {
      this.engine.connect(now());
    } catch {
      // Already connecting on this link.
    }
    this._schedule();
  }

  _input(link, bytes) {
    if (link !== this.link) return;
    this.engine.handleBytes(bytes, now());
    this._schedule();
  }

  /** The link went away; `opened`: it had come up. */
  _down(link, opened) {
    if (link !== this.link) return;
    this.link = null;
    // QoS 0 bytes not yet sent went with the link (the next CONNECT clears them).
    this._unwritten('the connection was lost before the message was sent');
    if (this.engine.state !== 'disconnected') {
      this.engine.connectionLost(now());
      this._schedule();
    } else if (!opened) {
      this._failed();
    } else if (this.ending) {
      this._ended();
    }
  }

  /** The socket did not open: an error, then another attempt or the end of them. */
  _failed() {
    this.link = null;
    this.emit('error', fail('CONNECT_FAILED', 'the WebSocket could not be opened'));
    this.emit('close');
    if (this.ending) this._ended();
    else this._retryLater();
  }

  _retryLater() {
    if (!this.reconnects || this.stopped) {
      this._stop();
      return;
    }
    this.emit('offline');
    if (this.retry === null) this.retry = later(() => this._open(), this.backoff.next(Math.random()));
  }

  // --- the engine's outputs ------------------------------------------------------------

  /** Handles the engine's outputs once this turn's inputs are in: one frame per turn. */
  _schedule() {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this._drain());
  }

  _drain() {
    this.scheduled = false;
    if (!this.busy) this._transmit();
    else if (this.store) this._save();
    for (let event; (event = this.engine.pollEvent()) !== undefined;) this._event(event);
    const at = this.engine.pollTimeout();
    // Armed lazily: a timer that fires early finds nothing due and re-arms.
    if (at !== undefined && at < this.deadline) {
      cancel(this.timer);
      this.deadline = at;
      this.timer = later(() => {
        this.deadline = Infinity;
        this.engine.handleTimeout(now());
        this._schedule();
      }, Math.max(0, at - now()));
    }
  }

  /** Sends what the engine has. The first frame of a quiet spell leaves at once; under
   *  load, what the next tasks (more arriving frames) produce waits for them, so a burst
   *  goes out in one frame rather than one per packet. */
  _transmit() {
    // Without a link, what the engine holds is for a connection that is gone; its next
    // CONNECT clears it.
    const link = this.link;
    const bytes = link ? this.engine.pollTransmit() : undefined;
    // Connected, every QoS 0 PUBLISH asked for so far is in these bytes (one asked for
    // offline goes out after CONNACK).
    const written = bytes && this.engine.state === 'connected' ? this.written.splice(0) : [];
    if (this.store) {
      if (bytes) this.held.push({ link, bytes, written });
      this._save();
    } else if (bytes) {
      this._send(link, bytes);
      for (const w of written) w.resolve(0);
    }
    if (bytes && !this.busy) {
      this.busy = true;
      nextTask(() => {
        this.busy = false;
        this._transmit();
      });
    }
  }

  /** No byte leaves before the session that expects its answer is saved. */
  _save() {
    if (this.saving) return;
    const session = this.engine.session();
    if (this.held.length === 0 && same(session, this.lastSaved)) return;
    const covered = this.held.splice(0);
    this.saving = true;
    this.lastSaved = session;
    this.store.save(session).then(() => {
      this.saving = false;
      // Each on its own link: a closed one drops them, and none reach the next connection.
      for (const { link, bytes, written } of covered) {
        this._send(link, bytes);
        for (const w of written) w.resolve(0);
      }
      for (const f of this.afterSave.splice(0)) f();
      this._schedule();
    });
  }

  _send(link, bytes) {
    try {
      link.send(bytes);
    } catch {
      // The link is gone or going; its close event tells the engine.
    }
  }

  _event(e) {
    switch (e.type) {
      case 'connected':
        return this._connected(e.sessionPresent);
      case 'message':
        return this.emit('message', e.packet.topic, e.packet.payload, e.packet);
      case 'published':
        return this._settle(e.id, e.reasonCode < 0x80 ? null : fail('BROKER_REFUSED', `the broker refused the message with reason code ${e.reasonCode}`, { reasonCode: e.reasonCode }), e.reasonCode);
      case 'subscribed':
        return this._settle(e.id, null, e.granted);
      case 'unsubscribed':
        return this._settle(e.id, null);
      case 'lost':
        return this._settle(e.id, e.sessionLost
          ? fail('SESSION_LOST', 'the broker no longer has the session this was in')
          : fail('CONNECTION_LOST', 'the connection ended before the answer'));
      case 'packetsend':
      case 'packetreceive':
        return this.emit(e.type, e.packet);
      case 'closed':
        return this._closed(e);
      default:
    }
  }

  _settle(id, err, value) {
    const waiter = this.waiters.get(id);
    if (!waiter) return;
    this.waiters.delete(id);
    if (err) waiter.reject(err);
    else waiter.resolve(value);
  }

  _connected(sessionPresent) {
    cancel(this.connectTimer);
    this.backoff.reset();
    const lost = this.connectedOnce && !sessionPresent && this.resubscribe;
    this.connectedOnce = true;
    if (lost && this.subscriptions.size > 0) {
      try {
        this.engine.subscribe([...this.subscriptions.values()], undefined, now());
      } catch {
        // Refused filters were refused the first time too.
      }
    }
    this.emit('connect', { cmd: 'connack', sessionPresent, [this.v5 ? 'reasonCode' : 'returnCode']: 0 });
    for (const run of this.pending.splice(0)) run();
    this._schedule();
  }

  _closed(e) {
    this._transmit();
    cancel(this.timer);
    cancel(this.connectTimer);
    this.deadline = Infinity;
    if (e.byBroker) this.emit('disconnect', { cmd: 'disconnect', reasonCode: e.reasonCode });
    if (e.error) {
      const coded = e.reasonCode !== undefined;
      this.emit('error', fail(e.error, coded ? `${e.reason} with code ${e.reasonCode}` : e.reason, coded ? { reasonCode: e.reasonCode } : {}));
    }
    const link = this.link;
    this.link = null;
    // A DISCONNECT waiting for a save leaves first.
    if (link) this._whenSaved(() => link.close());
    const ending = this.ending;
    let timer = null;
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      cancel(timer);
      this.emit('close');
      if (!ending) this._retryLater();
      else if (!this.link) this._ended();
    };
    // As in MQTT.js, `end()` ends once the WebSocket has closed, not when DISCONNECT is
    // handed to it; bounded, so that a peer that never answers the close cannot hold it.
    if (ending && link?.closed) {
      timer = later(finish, CLOSE_WAIT_MS);
      link.closed.then(finish);
    } else {
      finish();
    }
  }

  _whenSaved(f) {
    if (this.saving || this.held.length > 0) this.afterSave.push(f);
    else f();
  }

  /** No connection will come again: what waits for the broker never gets an answer. */
  _stop() {
    this.stopped = true;
    globalThis.removeEventListener?.('online', this._onOnline);
    for (const [, waiter] of this.waiters) waiter.reject(fail('CONNECTION_LOST', 'the connection ended'));
    this.waiters.clear();
    for (const run of this.pending.splice(0)) run(fail('CONNECTION_LOST', 'the connection ended'));
    this._unwritten('the connection ended');
  }

  _unwritten(why) {
    const lost = fail('CONNECTION_LOST', why);
    for (const w of this.written.splice(0)) w.reject(lost);
  }

  _ended() {
    if (this.endedOnce) return;
    this.endedOnce = true;
    this._stop();
    this.emit('end');
  }

  // --- commands ------------------------------------------------------------------------

  /** Runs `send()` now if connected (or connecting), else once connected. */
  _command(send) {
    return new Promise((resolve, reject) => {
      const run = (err) => {
        if (err) return reject(err);
        try {
          const id = send();
          this.waiters.set(id, { resolve, reject });
        } catch (e) {
          reject(e);
        }
        this._schedule();
      };
      if (this.stopped) reject(fail('NOT_CONNECTED', 'the client has ended'));
      else if (this.engine.state === 'disconnected') this.pending.push(run);
      else run();
    });
  }

  /** Publishes (queued while offline); with `wait`, a promise of the broker's reason code
   *  at PUBACK/PUBCOMP (at once for QoS 0). */
  publish(topic, payload, qos, retain, properties, wait) {
    if (this.stopped) throw fail('NOT_CONNECTED', 'the client has ended');
    const offline = this.engine.state !== 'connected';
    const id = this.engine.publish(topic, payload, qos, retain, properties, now());
    this._schedule();
    if (!wait) return undefined;
    // The engine drops it, as MQTT.js does, with the same error.
    if (qos === 0 && offline && !this.queueQoSZero) return Promise.reject(fail('NOT_CONNECTED', 'No connection to broker'));
    // As in MQTT.js, a QoS 0 publish is done once its bytes are handed to the socket.
    if (id === 0) return new Promise((resolve, reject) => this.written.push({ resolve, reject }));
    return new Promise((resolve, reject) => this.waiters.set(id, { resolve, reject }));
  }

  /** One SUBSCRIBE for `[{topic, qos, nl, rap, rh}]`; resolves with SUBACK's codes. */
  subscribe(subs, properties) {
    for (const s of subs) this.subscriptions.set(s.topic, s);
    return this._command(() => this.engine.subscribe(subs, properties, now()));
  }

  unsubscribe(topics) {
    for (const t of topics) this.subscriptions.delete(t);
    return this._command(() => this.engine.unsubscribe(topics, now()));
  }

  setTrace(on) {
    this.engine.setTrace(on);
  }

  /** DISCONNECT and stop; with `force`, drop the connection without it (the will goes out). */
  end(force) {
    if (this.ending) return;
    this.ending = true;
    cancel(this.retry);
    const state = this.engine.state;
    if (state === 'disconnected') {
      const link = this.link;
      this.link = null;
      link?.close();
      this._ended();
    } else if (force) {
      const link = this.link;
      this.link = null;
      link?.cut();
      this.engine.connectionLost(now());
      this._schedule();
    } else {
      this.engine.disconnect(now());
      this._schedule();
    }
  }

  /** Connects again now: after `end()`, or to skip the backoff's wait. */
  reconnect() {
    if (this.ending) {
      this.ending = false;
      this.endedOnce = false;
      this.stopped = false;
      globalThis.addEventListener?.('online', this._onOnline);
    }
    cancel(this.retry);
    this.retry = null;
    this.backoff.reset();
    this._open();
  }
}
