// The worker that runs a page's MQTT connections, so that keepalive and reconnect timers
// keep running when the tab is in the background. index.js starts it, and hands it one
// port per connection. Over a port, each side posts arrays of messages, one per turn:
//   page -> worker: {op: 'open', url, options, connector?}, {op: 'publish' | 'subscribe'
//     | 'unsubscribe', id, ...}, {op: 'end', force}, {op: 'reconnect'}, {op: 'trace', on}
//   worker -> page: {ev, args} (an event), {re: id, ok} or {re: id, err} (an answer).
import init from './wasm/tabmq_client.js';
import { Connection } from './connection.js';
import { plainError as plain, turnSender } from './wire.js';

let ready = null;

function serve(port) {
  const post = turnSender(port);
  const emit = (ev, ...args) => post({ ev, args: ev === 'error' ? [plain(args[0])] : args });
  const answer = (id, promise) => promise.then((ok) => post({ re: id, ok }), (err) => post({ re: id, err: plain(err) }));
  let conn = null;
  const waiting = [];
  const run = (m) => {
    try {
      switch (m.op) {
        case 'publish': {
          const sent = conn.publish(m.topic, m.payload, m.qos, m.retain, m.properties, m.id !== undefined);
          if (sent) answer(m.id, sent);
          break;
        }
        case 'subscribe':
          answer(m.id, conn.subscribe(m.subs, m.properties));
          break;
        case 'unsubscribe':
          answer(m.id, conn.unsubscribe(m.topics));
          break;
        case 'end':
          conn.end(m.force);
          break;
        case 'reconnect':
          conn.reconnect();
          break;
        case 'trace':
          conn.setTrace(m.on);
          break;
        default:
      }
    } catch (err) {
      if (m.id !== undefined) post({ re: m.id, err: plain(err) });
      else emit('error', err);
    }
  };
  port.onmessage = ({ data }) => {
    for (const m of data) {
      if (m.op === 'open') {
        Connection.open(m.url, m.options, emit, m.connector).then(
          (c) => {
            conn = c;
            post({ re: 0, ok: c.engine.clientId });
            for (const w of waiting.splice(0)) run(w);
          },
          (err) => post({ re: 0, err: plain(err) }),
        );
      } else if (conn) run(m);
      else waiting.push(m);
    }
  };
}

// The first message is index.js's `init`: where the wasm is, and a port to say it loaded.
// Each later one brings a connection's port.
self.onmessage = ({ data }) => {
  if (data.ready) {
    ready ??= init(data.wasm === undefined ? undefined : { module_or_path: data.wasm });
    ready.then(() => data.ready.postMessage(true), (err) => data.ready.postMessage(plain(err)));
  } else if (ready) {
    ready.then(() => serve(data.port));
  }
};
