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

function parse(url) {
  const match = /^tab:\/\/([^/?]+)\/?(?:\?(.*))?$/.exec(url);
  if (!match) {
    throw Object.assign(new Error(`${url}: not a tab://NAME[?shared] URL`), { code: 'TABMQ_BAD_URL' });
  }
  const params = (match[2] ?? '').split('&').filter(Boolean);
  const shared = params.some((p) => p === 'shared' || p === 'shared=1' || p === 'shared=true');
  const persist = params.includes('persist=indexeddb');
  return { name: match[1], shared, persist };
}

/** The broker's control target: a dedicated Worker, or this tab's port to the SharedWorker. */
function broker(url, workerUrl) {
  const { name, shared, persist } = parse(url);
  const workerName = `tabmq:${name}${persist ? ':persist' : ''}`;
  const key = `${shared ? 'shared' : 'own'}:${workerName}`;
  if (!brokers.has(key)) {
    brokers.set(key, new Promise((resolve, reject) => {
      const options = { type: 'module', name: workerName };
      const worker = shared ? new SharedWorker(workerUrl, options) : new Worker(workerUrl, options);
      const control = shared ? worker.port : worker;
      control.onmessage = (event) => {
        control.onmessage = null;
        if (event.data === 'ready') resolve(control);
        else reject(Object.assign(new Error(`the broker worker said ${String(event.data)}`), { code: 'TABMQ_NOT_READY' }));
      };
      worker.onerror = (event) => reject(Object.assign(new Error(`the broker worker failed: ${event.message ?? event}`), { code: 'TABMQ_WORKER_FAILED' }));
    }));
  }
  return brokers.get(key);
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

  /** `openPort(url)` may give the port to the broker instead (the npm package does, so
   *  that bundlers see its worker); by default the worker at `workerUrl` is started. */
  constructor(url, { workerUrl = './broker-worker.js', openPort = null } = {}) {
    super();
    this.url = url;
    this.protocol = 'mqtt';
    this.binaryType = 'arraybuffer';
    this.bufferedAmount = 0;
    this.readyState = TabSocket.CONNECTING;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
    this._port = null;
    const open = openPort ?? (async () => {
      const control = await broker(url, workerUrl);
      const channel = new MessageChannel();
      control.postMessage({ type: 'connect' }, [channel.port2]);
      return channel.port1;
    });
    Promise.resolve().then(() => open(url)).then(
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
