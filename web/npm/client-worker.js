// The worker that runs a page's MQTT connections, so that keepalive and reconnect timers
// keep running when the tab is in the background. index.js starts it.
import init, { serveWorker } from './wasm/tabmq_client.js';

init().then(() => serveWorker());
