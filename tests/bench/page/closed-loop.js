// A closed loop: `send()` is called while fewer than `window` sends wait for their arrival,
// until `count` have arrived or `limitMs` has passed. `listen(arrived)` wires the arrivals.
// Resolves with what arrived and how long it took.
export function closedLoop({ count, window, limitMs, send, listen }) {
  let sent = 0;
  let got = 0;
  // Once finished (all arrived, or the time is up), arrivals send nothing more: the
  // caller ends its clients next, and MQTT.js throws on a publish after its end.
  let done = false;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const finish = () => {
      done = true;
      resolve({ got, sent, seconds: (performance.now() - t0) / 1000 });
    };
    const timer = setTimeout(finish, limitMs);
    const pump = () => {
      while (sent < count && sent - got < window) {
        send();
        sent += 1;
      }
    };
    listen(() => {
      if (done) return;
      got += 1;
      if (got >= count) {
        clearTimeout(timer);
        finish();
      } else {
        pump();
      }
    });
    pump();
  });
}
