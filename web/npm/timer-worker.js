// The timers of schedule.js's `later`: [id, ms] arms (or re-arms) one, [id, -1] cancels
// it, and the worker posts the id back when it is due.
const pending = new Map();

self.onmessage = ({ data: [id, ms] }) => {
  clearTimeout(pending.get(id));
  pending.delete(id);
  if (ms >= 0) {
    pending.set(id, setTimeout(() => {
      pending.delete(id);
      self.postMessage(id);
    }, ms));
  }
};
