// The in-tab MQTT broker, as a dedicated Worker or a SharedWorker. In a SharedWorker the
// first tab's `connect` event can come while the wasm loads; it is kept until the broker
// takes over.
import init, { serveWorker } from './wasm/tabmq_broker.js';

self.__tabmqEarlyConnects = [];
if ('onconnect' in self) {
  self.onconnect = (event) => self.__tabmqEarlyConnects.push(event);
}
init().then(() => serveWorker());
