// Real brokers for interop tests, on free loopback ports, stopped by the caller:
// Debian's Mosquitto and `tabmq broker`, each with a TCP and a WebSocket listener.

import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port, proc, name) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}`);
    const open = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.on('connect', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} did not listen on ${port} within 10 s`);
}

function stopper(proc) {
  return async () => {
    if (proc.exitCode !== null) return;
    proc.kill('SIGTERM');
    await new Promise((resolve) => {
      const timer = setTimeout(() => { proc.kill('SIGKILL'); resolve(); }, 3000);
      proc.on('exit', () => { clearTimeout(timer); resolve(); });
    });
  };
}

/** Mosquitto with `extra` configuration lines; Debian's 2.0.11 needs a TCP listener
 *  beside the websockets one. With `{ log: true }`, `log()` returns what it logged so far
 *  (the last 2,000 lines). */
export async function startMosquitto(extra = [], { log = false } = {}) {
  const [tcp, ws] = [await freePort(), await freePort()];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tabmq-mosquitto-'));
  const conf = path.join(dir, 'mosquitto.conf');
  writeFileSync(conf, [
    `listener ${tcp} 127.0.0.1`,
    `listener ${ws} 127.0.0.1`,
    'protocol websockets',
    'allow_anonymous true',
    // stderr: unbuffered, so lines arrive as they are logged.
    ...(log ? ['log_dest stderr', 'log_type all'] : []),
    ...extra,
    '',
  ].join('\n'));
  const lines = [];
  let proc;
  const launch = async () => {
    proc = spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', log ? 'pipe' : 'ignore'] });
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk) => {
      lines.push(...chunk.split('\n').filter(Boolean));
      if (lines.length > 2000) lines.splice(0, lines.length - 2000);
    });
    await waitForPort(tcp, proc, 'mosquitto');
    await waitForPort(ws, proc, 'mosquitto');
  };
  await launch();
  const stop = () => stopper(proc)();
  // `start` runs it again on the same ports, after `stop`.
  return { name: 'mosquitto', tcp, ws, log: () => [...lines], stop, start: launch };
}

/** `tabmq broker` from TABMQ_BIN, with `args` added. */
export async function startTabmq(args = []) {
  const bin = process.env.TABMQ_BIN;
  if (!bin) throw new Error('TABMQ_BIN must name the tabmq binary');
  const [tcp, ws] = [await freePort(), await freePort()];
  const proc = spawn(bin, ['broker', '-p', String(tcp), '--ws-port', String(ws), ...args], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(tcp, proc, 'tabmq broker');
  await waitForPort(ws, proc, 'tabmq broker');
  return { name: 'tabmq', tcp, ws, proc, stop: stopper(proc) };
}
