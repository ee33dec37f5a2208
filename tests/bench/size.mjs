// Bundle size: the gzip size (level 9) of tabmq's client entry, as a page fetches it from
// the built npm package, against the browser builds of MQTT.js, Paho and u8-mqtt, taken
// from their npm tarballs (`npm pack`). Run by `cargo xtask bench size`.

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { clientEntry } from '../npm/entry.mjs';
import { report, row } from './report.mjs';

const OUT = process.env.TABMQ_BENCH_OUT;
const WORK = process.env.TABMQ_BENCH_WORK;
const NPM_DIR = process.env.TABMQ_NPM_DIR;

// Each peer's browser build, as its package.json's `browser` field or README names it.
const PEERS = [
  { spec: 'mqtt@5.16.0', file: 'dist/mqtt.min.js', name: 'MQTT.js 5.16.0 (mqtt.min.js)', target: 3 },
  { spec: 'paho-mqtt@1.1.0', file: 'paho-mqtt-min.js', name: 'Paho 1.1.0 (paho-mqtt-min.js)', target: null },
  { spec: 'u8-mqtt@0.6.7', file: 'esm/web/index.min.js', name: 'u8-mqtt 0.6.7 (esm/web/index.min.js)', target: null },
];

const gzip = (file) => gzipSync(readFileSync(file), { level: 9 }).length;
const kb = (bytes) => bytes / 1024;

const entry = clientEntry(NPM_DIR);
const ours = entry.reduce((sum, f) => sum + gzip(f), 0);
const wasm = entry.filter((f) => f.endsWith('.wasm')).reduce((sum, f) => sum + gzip(f), 0);
// A page whose clients ask for protocolVersion 5 fetches the MQTT 5 build instead.
const ours5 = clientEntry(NPM_DIR, 5).reduce((sum, f) => sum + gzip(f), 0);
const dir = path.join(WORK, 'bench-size');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const rows = [];
for (const peer of PEERS) {
  const tarball = execFileSync('npm', ['pack', '--silent', peer.spec], { cwd: dir, encoding: 'utf8', timeout: 120_000 }).trim().split('\n').pop();
  const unpacked = path.join(dir, peer.spec.replace(/[@/]/g, '_'));
  mkdirSync(unpacked);
  execFileSync('tar', ['xzf', path.join(dir, tarball), '-C', unpacked]);
  const theirs = gzip(path.join(unpacked, 'package', peer.file));
  rows.push(row(`size: client entry against ${peer.name}`, 'KB gzip', kb(ours), peer.name, kb(theirs), false, peer.target));
  if (peer.target) rows.push(row(`size: MQTT 5 client entry against ${peer.name}`, 'KB gzip', kb(ours5), peer.name, kb(theirs), false, null));
}
const mqttjs = rows.find((r) => r.peer.startsWith('MQTT.js'));
const third = mqttjs ? (mqttjs.theirs / 3).toFixed(1) : '?';
const notes = {
  size: `tabmq's figure is everything a page with a ws:// client of MQTT 3.1.1 (MQTT.js's default protocolVersion 4) fetches: index.js (bundled with its driver, connection.js), the chunk it shares with tab-socket.js, the timer worker, the client build's wasm-bindgen glue and its wasm, minified and gzipped. The wasm is ${kb(wasm).toFixed(1)} KB of it: the MQTT 3.1.1 codec (it frames MQTT 5 PUBLISHes only for the session's stored form) with every check, the connection policy, the QoS 1/2 state machines, the session's stored form, and the conversions to mqtt-packet's shapes. A page whose clients ask for protocolVersion 5 fetches the MQTT 5 build in its place, with every MQTT 5 property: ${kb(ours5).toFixed(1)} KB in all (the "MQTT 5 client entry" row). A third of mqtt.min.js is ${third} KB, less than the wasm alone: it would take dropping the protocol checks, which tabmq keeps. Paho and u8-mqtt, small clients in plain JavaScript, are listed for reference. The limits (56 KB, and 61 KB with MQTT 5) are enforced by tests/npm/size.test.mjs and cargo xtask npm.`,
};
console.log(report(OUT, ['size'], rows, notes));
