// Feeding a test's broker with Mosquitto's own clients, which tabmq did not write.

import { spawn, execFileSync } from 'node:child_process';

/** Publishing through mosquitto_pub, and asking mosquitto_sub what is retained. `topics`
 *  get reading `i` of `reading(topic, i)` at each `readings(i)`. */
export function mosquittoFeed(m, topics, reading) {
  const base = ['-h', '127.0.0.1', '-p', String(m.tcp)];
  const lines = new Map();
  return {
    url: `ws://127.0.0.1:${m.ws}`,
    async publish(topic, payload, { retain = false } = {}) {
      execFileSync('mosquitto_pub', [...base, '-t', topic, '-q', '1', ...(retain ? ['-r'] : []), '-s'], { input: payload, timeout: 10_000 });
    },
    async readings(i) {
      for (const topic of topics) {
        if (!lines.has(topic)) {
          // One process per topic, a line per message (-l), so 200 ms is 200 ms.
          lines.set(topic, spawn('mosquitto_pub', [...base, '-t', topic, '-q', '1', '-l'], { stdio: ['pipe', 'ignore', 'inherit'] }));
        }
        lines.get(topic).stdin.write(`${reading(topic, i)}\n`);
      }
    },
    async stopReadings() {
      await Promise.all([...lines.values()].map((p) => new Promise((resolve) => { p.on('exit', resolve); p.stdin.end(); })));
      lines.clear();
    },
    async retainedUnder(filter) {
      const out = await new Promise((resolve) => {
        const sub = spawn('mosquitto_sub', [...base, '-t', filter, '-v', '--retained-only', '-W', '2'], { stdio: ['ignore', 'pipe', 'ignore'] });
        let text = '';
        sub.stdout.on('data', (c) => { text += c; });
        sub.on('exit', () => resolve(text));
      });
      return out.split('\n').filter(Boolean);
    },
    async close() { await this.stopReadings(); },
  };
}

