// The wire between the page (index.js) and the client worker (client-worker.js): each side
// posts arrays of messages, one postMessage per turn (per burst under load), and errors cross as plain objects,
// since a structured clone keeps an Error's message but drops its `code`.

/** An `Error` with a `code`, and `extra` fields such as `reasonCode`. */
export const codedError = (code, message, extra) => Object.assign(new Error(message), { code }, extra);

/** `e` as a plain `{code, message, reasonCode}`. */
export const plainError = (e) => ({ code: e?.code ?? 'INTERNAL', message: String(e?.message ?? e), reasonCode: e?.reasonCode });

/** The `Error` a plain one stands for. */
export const reviveError = (e) => codedError(e.code, e.message, e.reasonCode === undefined ? {} : { reasonCode: e.reasonCode });

// One channel for every `nextTask`: a posted message runs after the tasks already queued
// (such as WebSocket messages that have arrived), and unlike setTimeout it is not clamped
// to 4 ms when chained.
const tasks = [];
let channel = null;

/** Runs `f` in a task of its own, after the tasks already queued. */
export function nextTask(f) {
  if (channel === null) {
    channel = new MessageChannel();
    channel.port1.onmessage = () => tasks.shift()();
  }
  tasks.push(f);
  channel.port2.postMessage(0);
}

/** A sender on `port` that gathers a turn's messages, and what they transfer, into one
 *  postMessage. The first of a quiet spell leaves at the end of its turn; while the
 *  tasks that follow keep adding (a burst of arriving frames), theirs leave together. */
export function turnSender(port) {
  let out = null;
  let transfer = [];
  let busy = false;
  const flush = () => {
    port.postMessage(out, transfer);
    out = null;
    transfer = [];
    nextTask(settle);
  };
  // Under load, what the next tasks gather waits for them: one message per burst.
  const settle = () => {
    if (out === null) busy = false;
    else flush();
  };
  return (message, moved = []) => {
    if (out === null) {
      out = [];
      if (!busy) {
        busy = true;
        queueMicrotask(flush);
      }
    }
    out.push(message);
    transfer.push(...moved);
  };
}
