// The links a connection opens when its machine says so: a WebSocket to a broker, or a
// MessagePort to the in-tab broker, each as `{ send, close, cut }`. Each reports back through
// `opened(link)`, `bytes(data)` and `closed()`, and decides nothing.

/** Opens a WebSocket to `url`, or, with `tab` ({name, shared, persist}), the port to the
 *  in-tab broker that `openTab(tab)` resolves to. */
export function openTransport(url, tab, openTab, { opened, bytes, closed }) {
  if (tab) {
    openTab(tab).then((port) => {
      port.onmessage = (e) => (e.data instanceof ArrayBuffer ? bytes(e.data) : e.data === 'close' && closed());
      // "close" tells the broker the connection dropped (so the will goes out). A tab that
      // closes or crashes says nothing: the broker learns it from the page's Web Lock
      // (openBrokerPort in tab-broker.js), and the page from the broker's.
      const end = (word) => () => {
        if (word) port.postMessage(word);
        port.close();
        closed();
      };
      opened({ send: (b) => port.postMessage(b.buffer, [b.buffer]), close: end(null), cut: end('close') });
    }, closed);
    return;
  }
  let ws;
  try {
    ws = new WebSocket(url, 'mqtt');
  } catch {
    queueMicrotask(closed);
    return;
  }
  ws.binaryType = 'arraybuffer';
  const link = { send: (b) => ws.send(b), close: () => ws.close(), cut: () => ws.close() };
  ws.onopen = () => opened(link);
  ws.onmessage = (e) => bytes(e.data);
  ws.onclose = closed;
}

/** `a` then `b`, in one buffer: one frame. */
export function joined(a, b) {
  const both = new Uint8Array(a.length + b.length);
  both.set(a);
  both.set(b, a.length);
  return both;
}
