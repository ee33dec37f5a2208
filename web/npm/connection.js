// The I/O shell of one MQTT client. Every decision (reconnect and backoff, online/offline,
// the connect timeout, keepalive, resubscribing, the offline queue, what is stored before a
// packet may leave, which command completes when) is made in Rust, by the core's
// ClientMachine in wasm. This file opens and closes transports when told, moves bytes,
// arms one timer, stores the session, and settles commands' promises.
//
// After every input, in the machine's order: store what `pollPersist` gives, handle
// `pollEvent`, send and act on `pollTransmit`/`pollAction` until both are empty (bytes
// held the microtask turns the machine asks for, for the application's answers to join
// them, or to a burst's end), handle `pollEvent` again, and arm the timer at `pollTimeout`.

import { afterTurns, cancel, later, nextTask, now } from './schedule.js';
import { joined, openTransport } from './transports.js';

// Tasks in which a connection took an input of its own: a command made in the task its
// connection last sent in (an awaited QoS 0 publish) need not wait for the burst's end.
let task = 0;

export class Connection {
  /** `client` is a wasm `Client`; `emit(event)` gets its events but completions (see
   *  `pollEvent` in client_for_js.rs); `openTab(tab)` resolves to a port of the in-tab broker
   *  `tab` ({name, shared, persist}) names; `store` ({save(bytes)}) keeps the session. */
  constructor(client, emit, openTab, store) {
    Object.assign(this, { client, emit, openTab, store });
    this.links = new Map(); // transport -> { send, close, cut }
    this.waiters = new Map(); // token -> { resolve, reject }
    this.nextToken = 1;
    this.scheduled = this.busy = this.flushing = false;
    this.sentIn = -1; // the task of the last send
    this.timer = null;
    this.deadline = Infinity;
    this._onLine = () => this._input(() => client.setOnline(globalThis.navigator?.onLine !== false, now()));
    this._hearOnline(true);
    if (globalThis.navigator?.onLine === false) client.setOnline(false, now());
    this._input(() => client.connect(now()));
  }

  /** Feeds one input, then handles the outputs once this turn's inputs are in, or, in a
   *  burst, once the burst's next task is. */
  _input(feed) {
    feed();
    if (this.scheduled || this._waitsForBurst()) return;
    this.scheduled = true;
    queueMicrotask(() => this._drain());
  }

  /** Feeds an input that arrived in a task of its own (bytes, a timer, a burst's end) and
   *  drains at once unless one is queued. Not for what can happen within a drain (a close). */
  _arrived(feed) {
    task += 1;
    feed();
    if (!this.scheduled) this._drain();
  }

  _drain() {
    this.scheduled = false;
    const c = this.client;
    const write = this.store && c.pollPersist();
    if (write) this.store.save(write.bytes).then(() => this._input(() => c.handlePersisted(write.seq, now())));
    this._events();
    if (this.flushing || this._waitsForBurst()) return this._arm();
    // Bytes made while the application may be answering wait the microtask turns the
    // machine says, so an acknowledgement and the answer share a frame.
    const held = c.pollTransmit();
    if (!held?.holdTurns) return this._flush(held);
    this.flushing = true; // drains wait for this, so no burst can begin meanwhile
    afterTurns(held.holdTurns, () => this._flush(held));
  }

  /** Whether bytes wait for the burst's end: something left in an earlier task. */
  _waitsForBurst() { return this.busy && this.sentIn !== task; }

  _flush(held) {
    this.flushing = false;
    this._transmit(held);
    this._events();
    this._arm();
  }

  _events() {
    for (let e; (e = this.client.pollEvent()) !== undefined;) this._event(e);
  }

  _arm() {
    const c = this.client;
    const at = c.pollTimeout();
    // Armed lazily: a timer that fires early finds nothing due and re-arms.
    if (at !== undefined && at < this.deadline) {
      cancel(this.timer);
      this.deadline = at;
      this.timer = later(() => {
        this.deadline = Infinity;
        this._arrived(() => c.handleTimeout(now()));
      }, Math.max(0, at - now()));
    }
  }

  /** Sends and acts, `held` first. A quiet spell's first frame leaves at once; what later
   *  tasks of a burst produce waits for the burst's end: one frame per burst. */
  _transmit(held) {
    let sent = false;
    for (;;) {
      let out = this.client.pollTransmit();
      if (held) {
        // Held while the application answered: it leaves first, in one frame with the answer.
        if (out?.transport === held.transport) out.bytes = joined(held.bytes, out.bytes);
        else if (out) this._send(held);
        else out = held;
        held = undefined;
      }
      if (out) {
        sent = true;
        this._send(out);
        continue;
      }
      const action = this.client.pollAction();
      if (!action) break;
      if (action.type === 'open') this._open(action);
      else {
        const link = this.links.get(action.transport);
        this.links.delete(action.transport);
        link?.[action.type]();
      }
    }
    if (!sent) return;
    this.sentIn = task;
    if (!this.busy) nextTask(() => this._arrived(() => (this.busy = false)));
    this.busy = true;
  }

  /** Hears online/offline while the client lives (listeners would keep an ended one). */
  _hearOnline(on) {
    for (const type of ['online', 'offline']) globalThis[on ? 'addEventListener' : 'removeEventListener']?.(type, this._onLine);
  }

  _send({ transport, bytes }) {
    try {
      this.links.get(transport)?.send(bytes);
    } catch {
      // The link is going; its close event tells the machine.
    }
  }

  _open({ transport, url, tab }) {
    openTransport(url, tab, this.openTab, {
      opened: (link) => {
        this.links.set(transport, link);
        this._input(() => this.client.handleOpened(transport, now()));
      },
      bytes: (data) => this._arrived(() => this.client.handleBytes(transport, new Uint8Array(data), now())),
      // Also from within a drain: a link's close and cut report at once.
      closed: () => {
        this.links.delete(transport);
        this._input(() => this.client.handleClosed(transport, now()));
      },
    });
  }

  /** Completions settle their commands' promises; the rest go to the API (index.js). */
  _event(e) {
    if (e.type === 'completed') {
      const waiter = this.waiters.get(e.token);
      this.waiters.delete(e.token);
      if (e.error) waiter?.reject(e.error);
      else waiter?.resolve(e.granted ?? e.reasonCode);
      return;
    }
    if (e.type === 'end') {
      cancel(this.timer);
      this.deadline = Infinity;
      this._hearOnline(false);
    }
    this.emit(e);
  }

  /** Runs a command; with `wait`, a promise of its outcome. Throws what the machine
   *  refuses at once. */
  _command(wait, run) {
    // Token 0: nobody waits, so its completion does not cross from the wasm.
    const token = wait ? this.nextToken++ : 0;
    this._input(() => run(token));
    if (wait) return new Promise((resolve, reject) => this.waiters.set(token, { resolve, reject }));
    return undefined;
  }

  publish(topic, payload, qos, retain, properties, wait) {
    return this._command(wait, (t) => this.client.publish(t, topic, payload, qos, retain, properties, now()));
  }

  /** One SUBSCRIBE for `[{topic, qos, nl, rap, rh}]`; resolves with SUBACK's codes. */
  subscribe(subs, properties) {
    return this._command(true, (t) => this.client.subscribe(t, subs, properties, now()));
  }

  unsubscribe(topics, properties) {
    return this._command(true, (t) => this.client.unsubscribe(t, topics, properties, now()));
  }

  setTrace(on) {
    this.client.setTrace(on);
  }

  /** MQTT.js's `end(force, { reasonCode, properties })`. */
  end(force, opts) {
    this._input(() => this.client.end(Boolean(force), opts?.reasonCode ?? 0, opts?.properties, now()));
  }

  /** Connects again now: after `end()`, or to skip the backoff's wait. */
  reconnect() {
    this._hearOnline(true);
    this._input(() => this.client.connect(now()));
  }
}
