// tabSocket(url): a WebSocket-compatible object that reaches the broker in a tab, for
// clients no one here wrote. MQTT.js takes it through its `createWebsocket` option:
//
//   import { tabSocket } from './tab-socket.js';
//   const client = mqtt.connect('ws://tab', { createWebsocket: () => tabSocket('tab://lab?shared') });
//
// Real MQTT bytes cross a MessagePort of the client's own, as they do for tabmq's own
// client. `tab://NAME?shared` is the SharedWorker broker every tab of the origin (and
// tabmq's client in this page) shares; `tab://NAME` starts a broker in a Worker of this
// page, which this module's sockets share with each other.

const brokers = new Map();

// The same rules as the Rust client's (tabmq-core's BrokerUrl, which the npm client
// uses): an unknown parameter is refused, not ignored, so `?shraed` is not a private broker.
// This module stays free of wasm, so that MQTT.js users can take it alone.
function parse(url) {
  if (typeof url === 'object') return url;
  const match = /^tab:\/\/([^/?]+)\/?(?:\?(.*))?$/.exec(url);
  if (!match) {
    throw Object.assign(new Error(`${url}: the broker needs a name, as in tab://lab`), { code: 'INVALID_URL' });
  }
  let shared = false;
  let persist = false;
  for (const param of (match[2] ?? '').split('&').filter(Boolean)) {
    if (param === 'shared' || param === 'shared=1' || param === 'shared=true') shared = true;
    else if (param === 'persist=indexeddb') persist = true;
    else throw Object.assign(new Error(`${url}: unknown parameter "${param}"`), { code: 'INVALID_URL' });
  }
  return { name: match[1], shared, persist };
}

/** A module worker for the broker: `shared` picks a SharedWorker. */
export const brokerWorkerAt = (workerUrl) => (shared, name) => (shared
  ? new SharedWorker(workerUrl, { type: 'module', name })
  : new Worker(workerUrl, { type: 'module', name }));

/** The broker `url` (or its parts, `{name, shared, persist}`) names, started once per page (or joined, if shared), as its control
 *  target: the dedicated Worker, or this tab's port to the SharedWorker. `makeWorker(shared,
 *  name)` starts its worker; the worker's name tells it the broker's name. */
export function tabBroker(url, makeWorker) {
  const { name, shared, persist } = parse(url);
  const workerName = `tabmq:${name}${persist ? ':persist' : ''}`;
  const key = `${shared ? 'shared' : 'own'}:${workerName}`;
  if (!brokers.has(key)) {
    const started = new Promise((resolve, reject) => {
      const worker = makeWorker(shared, workerName);
      const control = shared ? worker.port : worker;
      control.onmessage = (event) => {
        control.onmessage = null;
        if (event.data === 'ready') resolve(control);
        else reject(Object.assign(new Error(`the broker worker said ${String(event.data)}`), { code: 'TABMQ_NOT_READY' }));
      };
      worker.onerror = (event) => reject(Object.assign(new Error(`the broker worker failed: ${event.message ?? event}`), { code: 'TABMQ_WORKER_FAILED' }));
    });
    // A failed start is not kept: the next call tries again.
    started.catch(() => brokers.delete(key));
    brokers.set(key, started);
  }
  return brokers.get(key);
}

/** Forgets the broker `url` names, so that the next use starts it again. */
export function forgetTabBroker(url) {
  const { name, shared, persist } = parse(url);
  brokers.delete(`${shared ? 'shared' : 'own'}:tabmq:${name}${persist ? ':persist' : ''}`);
}

// A closing tab says nothing on its ports, so a shared broker in another tab cannot tell
// that its connections are gone. The browser releases a Web Lock when the page holding it
// goes, however it goes: this page holds one for its life and names it in each `connect`;
// the broker waits for that lock and cuts the page's connections when it gets it. The Rust
// client's half is crates/client/src/page_lock.rs: the same key, `pageLock`.
let pageLock;
function holdPageLock() {
  pageLock ??= new Promise((resolve) => {
    const name = `tabmq-page-${Math.random().toString(16).slice(2)}${Math.random().toString(16).slice(2)}`;
    try {
      // Held until the page goes: the promise the callback returns never settles.
      navigator.locks.request(name, () => {
        resolve(name);
        return new Promise(() => {});
      }).catch(() => resolve(null));
    } catch {
      resolve(null); // no Web Locks: the broker falls back on keepalive
    }
  });
  return pageLock;
}

/** A new MQTT connection to `control`'s broker, as a port (`kind` 'control' instead gives a
 *  connector, on which each `{type: 'connect'}` with a port opens a connection). */
export async function openBrokerPort(control, kind = 'connect') {
  const channel = new MessageChannel();
  const lock = kind === 'connect' ? await holdPageLock() : null;
  control.postMessage(lock ? { type: kind, pageLock: lock } : { type: kind }, [channel.port2]);
  return channel.port1;
}

function toArrayBuffer(data) {
  if (data instanceof ArrayBuffer) return data.slice(0);
  if (ArrayBuffer.isView(data)) return data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  throw Object.assign(new TypeError('MQTT travels as binary data'), { code: 'TABMQ_NOT_BINARY' });
}

export class TabSocket extends EventTarget {
  static CONNECTING = 0;
  static OPEN = 1;
  static CLOSING = 2;
  static CLOSED = 3;

  /** The broker's worker is the module at `workerUrl`, or what `makeWorker(shared, name)`
   *  starts (the npm package passes one, so that bundlers see its worker). */
  constructor(url, { workerUrl = './broker-worker.js', makeWorker = brokerWorkerAt(workerUrl) } = {}) {
    super();
    this.url = url;
    this.protocol = 'mqtt';
    this.binaryType = 'arraybuffer';
    this.bufferedAmount = 0;
    this.readyState = TabSocket.CONNECTING;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this._port = null;
    Promise.resolve().then(() => tabBroker(url, makeWorker)).then((control) => openBrokerPort(control)).then(
      (port) => {
        if (this.readyState !== TabSocket.CONNECTING) {
          port.postMessage('close');
          port.close();
          return;
        }
        this._port = port;
        this._port.onmessage = (event) => {
          if (event.data instanceof ArrayBuffer) this._emit(new MessageEvent('message', { data: event.data }));
          else if (event.data === 'close') this._closed(1000, 'closed by the broker');
        };
        this.readyState = TabSocket.OPEN;
        this._emit(new Event('open'));
      },
      (error) => {
        this._emit(Object.assign(new Event('error'), { error }));
        this._closed(1006, error.message);
      },
    );
  }

  get CONNECTING() { return TabSocket.CONNECTING; }
  get OPEN() { return TabSocket.OPEN; }
  get CLOSING() { return TabSocket.CLOSING; }
  get CLOSED() { return TabSocket.CLOSED; }

  send(data) {
    if (this.readyState !== TabSocket.OPEN) {
      throw Object.assign(new Error('the tab socket is not open'), { code: 'TABMQ_NOT_OPEN' });
    }
    const buffer = toArrayBuffer(data);
    this._port.postMessage(buffer, [buffer]);
  }

  close(code = 1000, reason = '') {
    if (this.readyState >= TabSocket.CLOSING) return;
    if (this._port) {
      this._port.postMessage('close');
      this._port.close();
    }
    this._closed(code, reason);
  }

  _closed(code, reason) {
    if (this.readyState === TabSocket.CLOSED) return;
    this.readyState = TabSocket.CLOSED;
    this._emit(new CloseEvent('close', { code, reason, wasClean: code === 1000 }));
  }

  _emit(event) {
    const handler = this[`on${event.type}`];
    if (typeof handler === 'function') handler.call(this, event);
    this.dispatchEvent(event);
  }
}

/** A WebSocket-compatible connection to the in-tab broker `url` names. */
export function tabSocket(url, options) {
  return new TabSocket(url, options);
}
