// The broker worker's entry, for a dedicated Worker and for a SharedWorker alike.
// In a SharedWorker, the first tab's `connect` event can fire while the wasm is still
// loading (the `await` below yields); it is kept here until the broker takes over.
self.__tabmqEarlyConnects = [];
if ('onconnect' in self) {
  self.onconnect = (event) => self.__tabmqEarlyConnects.push(event);
}
import init from './tabmq-worker.js';
await init();
