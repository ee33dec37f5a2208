// Real brokers for interop tests, on free loopback ports, stopped by the caller:
// Debian's Mosquitto and `tabmq broker`, each with a TCP and a WebSocket listener.

import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { scratchDir } from './scratch.mjs';

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
    // Killed by a signal, a process keeps `exitCode` null and sets `signalCode`.
    if (proc.exitCode !== null || proc.signalCode !== null) return;
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
  const dir = scratchDir('tabmq-mosquitto-');
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

/**
 * `kind` ('tabmq' or 'mosquitto') run with a configuration file of `lines(ports, dir)`,
 * where `ports` are `count` free loopback ports and `dir` a fresh directory for files the
 * configuration names. Every file there is made world-readable first (Mosquitto started
 * as root reads them as its own user). Resolves once every port listens; the ports the
 * configuration does not listen on are left out by passing `listening`.
 */
export async function startConfigured(kind, lines, { count = 1, listening, files = {} } = {}) {
  const ports = [];
  for (let i = 0; i < count; i++) ports.push(await freePort());
  const dir = scratchDir(`tabmq-${kind}-conf-`);
  chmodSync(dir, 0o755);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(path.join(dir, name), text);
    chmodSync(path.join(dir, name), 0o644);
  }
  const conf = path.join(dir, `${kind}.conf`);
  writeFileSync(conf, [...lines(ports, dir), ''].join('\n'));
  chmodSync(conf, 0o644);
  const cmd = kind === 'tabmq'
    ? [process.env.TABMQ_BIN, ['broker', '-c', conf]]
    : ['/usr/sbin/mosquitto', ['-c', conf]];
  let stderr = '';
  const proc = spawn(cmd[0], cmd[1], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20_000); });
  for (const port of listening ?? ports) await waitForPort(port, proc, kind);
  return { name: kind, ports, tcp: ports[0], dir, proc, stderr: () => stderr, stop: stopper(proc) };
}
