// When a page's connections run their code, and the clock they read: `nextTask` for a
// burst's end, `later` for keepalive, connect timeouts and reconnect backoff, and `now`. A
// background tab's own timers can be held back for a minute, long enough for a broker to
// drop a connection whose PINGREQ comes late; a worker's timers are not, so `later` keeps
// its timers in one (and falls back to the page's own if the worker cannot start).

// One clock for every input, the Rust client's too: monotonic within the page, so a changed
// system clock moves no timer, and on the Unix epoch's scale, so the expiry times a stored
// session holds mean the same after a reload.
const origin = performance.timeOrigin;
export const now = () => origin + performance.now();

// One channel for every `nextTask`: a posted message runs after the tasks already queued
// (such as WebSocket messages that have arrived), and unlike setTimeout it is not clamped
// to 4 ms when chained. One message serves every call made while it is on its way: each of
// a page's connections ends its burst with a call, and a post per connection was a quarter
// of the page's posts in an in-tab fan-in.
let waiting = null; // the calls the message on its way will run
let channel = null;

/** Runs `f` in a task of its own, after the tasks queued before the first call that the
 *  message now on its way serves (or, with none on its way, before this call). */
export function nextTask(f) {
  if (waiting !== null) {
    waiting.push(f);
    return;
  }
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const run = waiting;
      waiting = null;
      for (const g of run) {
        // One call's failure is reported, and the others still run.
        try {
          g();
        } catch (e) {
          queueMicrotask(() => {
            throw e;
          });
        }
      }
    };
    // Under Node, an idle channel would keep the process alive (after onmessage, which
    // refs the port there).
    channel.port1.unref?.();
  }
  waiting = [f];
  channel.port2.postMessage(0);
}

/** Calls `f` once `turns` more turns of the microtask queue have passed: after the
 *  microtasks already queued, and what they queue a few awaits deep. */
export function afterTurns(turns, f) {
  queueMicrotask(() => (turns > 0 ? afterTurns(turns - 1, f) : f()));
}

let worker = null; // null: not started yet; false: none, the page's own timers instead
let lastId = 0;
const due = new Map(); // id -> { f, at, native }

function fire(id) {
  const timer = due.get(id);
  due.delete(id);
  timer?.f();
}

// setTimeout fires at once for a delay past 2^31 - 1 ms (24.8 days): a longer one waits that
// long instead.
const delayOf = (ms) => Math.min(Math.max(0, ms), 0x7fffffff);

function armHere(id, timer) {
  timer.native = setTimeout(() => fire(id), delayOf(timer.at - performance.now()));
}

function startWorker() {
  try {
    worker = new Worker(new URL('./timer-worker.js', import.meta.url), { type: 'module', name: 'tabmq-timers' });
  } catch {
    worker = false;
    return;
  }
  worker.onmessage = ({ data }) => fire(data);
  // A worker that fails to load would leave every timer unfired: they move to the page.
  worker.onerror = () => {
    worker.terminate();
    worker = false;
    for (const [id, timer] of due) armHere(id, timer);
  };
}

/** Calls `f` in `ms` milliseconds; the id to `cancel` it. */
export function later(f, ms) {
  if (worker === null) startWorker();
  lastId += 1;
  const timer = { f, at: performance.now() + ms, native: null };
  due.set(lastId, timer);
  if (worker) worker.postMessage([lastId, delayOf(ms)]);
  else armHere(lastId, timer);
  return lastId;
}

/** Cancels the timer `later` gave `id` for; nothing for `null` or a timer that fired. */
export function cancel(id) {
  const timer = due.get(id);
  if (!timer) return;
  due.delete(id);
  if (timer.native !== null) clearTimeout(timer.native);
  else if (worker) worker.postMessage([id, -1]);
}
