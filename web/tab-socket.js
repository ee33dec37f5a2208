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

/** A module worker for the broker: `shared` picks a SharedWorker. */
export const brokerWorkerAt = (workerUrl) => (shared, name) => (shared
  ? new SharedWorker(workerUrl, { type: 'module', name })
  : new Worker(workerUrl, { type: 'module', name }));

// The rest is loaded only when a page reaches for a `tab://` broker (tab-broker.js).
const broker = () => import('./tab-broker.js');

/** The broker `url` (or its parts, `{name, shared, persist}`) names, started once per page
 *  (or joined, if shared), as its control target: the dedicated Worker, or this tab's port
 *  to the SharedWorker. `makeWorker(shared, name)` starts its worker. */
export const tabBroker = async (url, makeWorker) => (await broker()).tabBroker(url, makeWorker);

/** A new MQTT connection to `control`'s broker, as a port (`kind` 'control' instead gives a
 *  connector). */
export const openBrokerPort = async (control, kind) => (await broker()).openBrokerPort(control, kind);

/** Forgets the broker `url` names, so that the next use starts it again. */
export const forgetTabBroker = async (url) => (await broker()).forgetTabBroker(url);

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
