// The in-tab broker's side of tab-socket.js, loaded the first time a page reaches for a
// `tab://` broker, so that a page of ws:// clients does not fetch it: starting or joining
// the broker's worker, and opening connections to it.

const brokers = new Map();

// The same rules as the Rust client's (tabmq-core's BrokerUrl, which the npm client
// uses): an unknown parameter is refused, not ignored, so `?shraed` is not a private broker.
// It stays free of wasm, so that MQTT.js users can take tab-socket.js alone.
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

/** The broker `url` names: whether shared, its worker's name, and its key among this
 *  page's brokers. */
function brokerOf(url) {
  const { name, shared, persist } = parse(url);
  const workerName = `tabmq:${name}${persist ? ':persist' : ''}`;
  return { shared, workerName, key: `${shared ? 'shared' : 'own'}:${workerName}` };
}

/** See tab-socket.js's `tabBroker`; the worker's name tells it the broker's name. */
export function tabBroker(url, makeWorker) {
  const { shared, workerName, key } = brokerOf(url);
  if (!brokers.has(key)) {
    const started = new Promise((resolve, reject) => {
      const worker = makeWorker(shared, workerName);
      const control = shared ? worker.port : worker;
      control.onmessage = (event) => {
        // Then the broker's life lock: once it is gone, the next use starts it again.
        control.onmessage = (e) => whenBrokerGone(e.data, () => brokers.get(key) === started && brokers.delete(key));
        if (event.data === 'ready') resolve(control);
        else reject(Object.assign(new Error(`the broker worker said ${event.data}`), { code: 'TABMQ_NOT_READY' }));
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
  brokers.delete(brokerOf(url).key);
}

// A closing tab says nothing on its ports, so a shared broker in another tab cannot tell
// that its connections are gone. The browser releases a Web Lock when the page holding it
// goes, however it goes: this page holds one for its life and names it in each `connect`;
// the broker waits for that lock and cuts the page's connections when it gets it. The Rust
// client's half is crates/client/src/page_lock.rs: the same key, `pageLock`.
let pageLock;
const holdPageLock = () => (pageLock ??= new Promise((resolve) => {
  const name = `tabmq-page-${Math.random().toString(36).slice(2)}`;
  // Held until the page goes: the promise the callback returns never settles. Without Web
  // Locks, no name: the broker falls back on keepalive.
  (navigator.locks?.request(name, () => resolve(name) ?? new Promise(() => {})) ?? Promise.reject()).catch(() => resolve());
}));

/** Calls `gone` when the broker that posted `data` is gone, if `data` names its life lock:
 *  its worker can die with its ports silent (a crash of the tab whose renderer ran it).
 *  The Rust side: crates/client/src/page_lock.rs. */
function whenBrokerGone(data, gone) {
  if (typeof data === 'string' && data.startsWith('broker-lock:')) navigator.locks?.request(data.slice(12), gone);
}

/** A new MQTT connection to `control`'s broker, as a port (`kind` 'control' instead gives a
 *  connector, on which each `{type: 'connect'}` with a port opens a connection). */
export async function openBrokerPort(control, kind = 'connect') {
  const channel = new MessageChannel();
  const lock = kind === 'connect' && (await holdPageLock());
  control.postMessage({ type: kind, pageLock: lock || undefined }, [channel.port2]);
  const port = channel.port1;
  // A broker that is gone says "close", as one that closed the connection would.
  port.addEventListener('message', (e) => whenBrokerGone(e.data, () => port.onmessage?.({ data: 'close' })));
  return port;
}
