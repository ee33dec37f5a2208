// The wire between the page (index.js) and the client worker (client-worker.js): each side
// posts arrays of messages, one postMessage per turn, and errors cross as plain objects,
// since a structured clone keeps an Error's message but drops its `code`.

/** An `Error` with a `code`, and `extra` fields such as `reasonCode`. */
export const codedError = (code, message, extra) => Object.assign(new Error(message), { code }, extra);

/** `e` as a plain `{code, message, reasonCode}`. */
export const plainError = (e) => ({ code: e?.code ?? 'INTERNAL', message: String(e?.message ?? e), reasonCode: e?.reasonCode });

/** The `Error` a plain one stands for. */
export const reviveError = (e) => codedError(e.code, e.message, e.reasonCode === undefined ? {} : { reasonCode: e.reasonCode });

/** A sender on `port` that gathers a turn's messages, and what they transfer, into one
 *  postMessage. */
export function turnSender(port) {
  let out = null;
  let transfer = [];
  return (message, moved = []) => {
    if (out === null) {
      out = [];
      queueMicrotask(() => {
        port.postMessage(out, transfer);
        out = null;
        transfer = [];
      });
    }
    out.push(message);
    transfer.push(...moved);
  };
}
