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

const ours = clientEntry(NPM_DIR).reduce((sum, f) => sum + gzip(f), 0);
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
}
const notes = {
  size: "tabmq's figure is everything a page with a ws:// client fetches: index.js, tab-socket.js, the client worker with its driver, wasm-bindgen's glue and the wasm (the MQTT 3.1.1 and 5.0 codec, the QoS state machines and the session), minified and gzipped. The wasm is 44.5 KB of it; the codec alone is about half. A third of mqtt.min.js (35 KB) would need the codec to drop MQTT 5's properties or its checks, which tabmq keeps; the 60 KB limit is enforced by tests/npm/size.test.mjs.",
};
console.log(report(OUT, ['size'], rows, notes));
