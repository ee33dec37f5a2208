// Codec benchmark: tabmq's codec compiled to wasm against mqtt-packet, in one Node process,
// on one corpus, in alternating rounds; and tabmq's native build against a plain copy of the
// same bytes; and the native decoder against the mqttbytes crate, from the Criterion run
// `cargo xtask bench codec` makes before this. Writes bench/results.json and bench/results.md.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import mqttPacket from 'mqtt-packet';
import { generator } from '../interop/codec-generator.mjs';
import { median, report, row } from './report.mjs';

const require = createRequire(import.meta.url);
const { CodecBench } = require(process.env.TABMQ_BENCH_PKG);
const OUT = process.env.TABMQ_BENCH_OUT;
const WORK = process.env.TABMQ_BENCH_WORK ?? os.tmpdir();
const NATIVE = process.env.TABMQ_NATIVE_BENCH;
const CRITERION = process.env.TABMQ_CRITERION_DIR;
const ROUNDS = 7;
const PER_CORPUS = 5_000;

function corpus(v5) {
  const next = generator(7 + (v5 ? 1 : 0));
  // A dashboard's traffic is mostly PUBLISH and its acknowledgements; keep the mix honest.
  const packets = [];
  while (packets.length < PER_CORPUS) {
    const p = next(v5);
    if (p.cmd === 'connect' && packets.length > 0) continue;
    packets.push(p);
  }
  const buffers = packets.map((p) => mqttPacket.generate(p, { protocolVersion: v5 ? 5 : 4 }));
  return { packets, stream: Buffer.concat(buffers) };
}


function timeIt(fn) {
  const start = process.hrtime.bigint();
  const n = fn();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, n };
}

function benchVersion(v5) {
  const { packets, stream } = corpus(v5);
  const ours = new CodecBench(stream, v5);
  if (ours.count() !== packets.length) throw new Error(`tabmq read ${ours.count()} of ${packets.length} packets`);
  const repeat = Math.max(1, Math.round(4_000_000 / stream.length));
  const parse = () => {
    const parser = mqttPacket.parser({ protocolVersion: v5 ? 5 : 4 });
    let count = 0;
    parser.on('packet', () => count++);
    parser.on('error', (e) => { throw e; });
    for (let i = 0; i < repeat; i++) parser.parse(stream);
    return count;
  };
  const generate = () => {
    let bytes = 0;
    for (let i = 0; i < repeat; i++) for (const p of packets) bytes += mqttPacket.generate(p, { protocolVersion: v5 ? 5 : 4 }).length;
    return bytes;
  };
  // Warm both up, then alternate rounds so drift hits both sides alike.
  parse(); ours.decode_rounds(repeat); generate(); ours.encode_rounds(repeat);
  const t = { theirDecode: [], ourDecode: [], theirEncode: [], ourEncode: [] };
  for (let r = 0; r < ROUNDS; r++) {
    const a = timeIt(parse);
    const b = timeIt(() => ours.decode_rounds(repeat));
    const c = timeIt(generate);
    const d = timeIt(() => ours.encode_rounds(repeat));
    if (a.n !== b.n) throw new Error(`decoded counts differ: mqtt-packet ${a.n}, tabmq ${b.n}`);
    // Encoded sizes may differ in MQTT 5, where tabmq uses the short forms the spec allows
    // (a success PUBACK without properties is 2 bytes); correctness is the differential
    // test's job. Both sides encode every packet of the corpus `repeat` times.
    t.theirDecode.push(a.seconds); t.ourDecode.push(b.seconds);
    t.theirEncode.push(c.seconds); t.ourEncode.push(d.seconds);
  }
  const n = packets.length * repeat;
  const mb = (stream.length * repeat) / 1e6;
  const rate = (s) => n / median(s);
  return { v5, packets: packets.length, bytes: stream.length, stream, n, mb, t, rate };
}

const rows = [];
const corpusFiles = [];
for (const v5 of [false, true]) {
  const r = benchVersion(v5);
  const label = v5 ? 'MQTT 5.0' : 'MQTT 3.1.1';
  rows.push(row(`codec: decode, wasm in Node, ${label}`, 'packets/s', r.rate(r.t.ourDecode), 'mqtt-packet 9.0.2 parser', r.rate(r.t.theirDecode), true, 3));
  rows.push(row(`codec: encode, wasm in Node, ${label}`, 'packets/s', r.rate(r.t.ourEncode), 'mqtt-packet 9.0.2 generate', r.rate(r.t.theirEncode), true, 3));
  rows.push(row(`codec: decode, wasm in Node, ${label}`, 'MB/s', r.mb / median(r.t.ourDecode), 'mqtt-packet 9.0.2 parser', r.mb / median(r.t.theirDecode), true, 3));
  const file = join(WORK, `codec-corpus-${v5 ? 5 : 311}.bin`);
  writeFileSync(file, r.stream);
  corpusFiles.push(`${file}:${v5 ? 5 : 311}`);
}
if (NATIVE && existsSync(NATIVE)) {
  const out = execFileSync(NATIVE, corpusFiles, { encoding: 'utf8', timeout: 600_000 });
  for (const line of out.trim().split('\n')) {
    const j = JSON.parse(line);
    const label = j.version === '5' ? 'MQTT 5.0' : 'MQTT 3.1.1';
    rows.push(row(`codec: decode, native, ${label}`, 'MB/s', j.decode_mb_per_s, 'memcpy of the same bytes', j.copy_mb_per_s, true, null));
    rows.push(row(`codec: encode, native, ${label}`, 'MB/s', j.encode_mb_per_s, 'memcpy of the same bytes', j.copy_mb_per_s, true, null));
  }
}

// Criterion's median time per pass over one stream, as MB/s of that stream.
function criterionRate(version, size, fn) {
  const dir = join(CRITERION, `decode_${version}_${size}`, fn, 'new');
  const { throughput } = JSON.parse(readFileSync(join(dir, 'benchmark.json'), 'utf8'));
  const { median: m } = JSON.parse(readFileSync(join(dir, 'estimates.json'), 'utf8'));
  return throughput.Bytes / (m.point_estimate / 1e9) / 1e6;
}
if (CRITERION) {
  for (const version of ['3.1.1', '5.0']) {
    for (const size of [16, 256, 4096, 65536]) {
      const label = size >= 1024 ? `${size / 1024} KiB` : `${size} B`;
      const ours = criterionRate(version, size, 'tabmq');
      rows.push(row(`codec: decode PUBLISH, native, MQTT ${version}, ${label}`, 'MB/s', ours, 'mqttbytes 0.6.0 (rumqtt\'s codec)', criterionRate(version, size, 'mqttbytes'), true, 1));
      if (size === 4096) rows.push(row(`codec: decode PUBLISH, native, MQTT ${version}, ${label}`, 'MB/s', ours, 'memcpy of the same bytes', criterionRate(version, size, 'memcpy'), true, 0.25));
    }
  }
}

const notes = {
  codec: 'The native rows against memcpy compare with a plain copy of the same bytes: the ceiling of any decoder that copies, not a peer to beat. On the mixed corpus their ratio says how far from memory speed the codec runs. The "decode PUBLISH" rows come from one Criterion run (`cargo bench -p tabmq-codec-bench --bench decode`, medians) over a stream of QoS 1 PUBLISH frames of each payload size: tabmq\'s decoder hands out the topic and the payload as slices of the frame, where mqttbytes copies the topic into a String, so from 4 KiB on it decodes faster than the bytes could be copied.',
};
console.log(report(OUT, ['codec'], rows, notes));
