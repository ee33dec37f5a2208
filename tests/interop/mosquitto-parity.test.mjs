// `tabmq broker` beside Debian's Mosquitto 2.0.11, each started with the same
// mosquitto.conf in the same run, answering the same clients: authentication in every
// combination of its settings, acl_file verdicts, CONNACK bytes, message_size_limit,
// listener options, and MQTT 3.1 through mosquitto_pub/mosquitto_sub. Where the answers must match Mosquitto's, they are compared
// with Mosquitto's own, not with a table written here alone.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import net from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import { startConfigured } from './support/brokers.mjs';
import { connect, sleep, until } from './support/peer.mjs';
import { scratchDir } from './support/scratch.mjs';

const stops = [];
after(async () => { for (const stop of stops) await stop(); });

async function start(kind, lines, opts) {
  const broker = await startConfigured(kind, lines, opts);
  stops.push(broker.stop);
  return broker;
}

function run(cmd, args, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d) => { out += d; });
    proc.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${cmd} timed out: ${err}`)); }, ms);
    proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, out, err }); });
  });
}

/** The CONNACK code a client gets (v5 reason code or 3.1.1 return code). */
async function connackCode(broker, id, opts = {}) {
  const c = mqtt.connect(`mqtt://127.0.0.1:${broker.tcp}`, {
    clientId: id,
    protocolVersion: opts.v5 ? 5 : 4,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    username: opts.username,
    password: opts.password,
    will: opts.will,
  });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${id}: no CONNACK`)), 5000);
      c.once('connect', (ack) => { clearTimeout(timer); resolve(ack.reasonCode ?? ack.returnCode ?? 0); });
      c.once('error', (e) => { clearTimeout(timer); resolve(e.code ?? String(e.message)); });
    });
  } finally {
    c.end(true);
  }
}

describe('authentication: allow_anonymous × password_file × username × per_listener_settings', () => {
  // Made by mosquitto_passwd: alice / wonderland.
  const passwordFile = path.join(scratchDir('tabmq-pw-'), 'passwords');
  execFileSync('mosquitto_passwd', ['-c', '-b', passwordFile, 'alice', 'wonderland']);
  const passwords = readFileSync(passwordFile, 'utf8');
  const clients = [
    ['no username', {}],
    ['a user the file knows, right password', { username: 'alice', password: 'wonderland' }],
    ['a user the file knows, wrong password', { username: 'alice', password: 'rabbit' }],
    ['any username, any password', { username: 'anyone', password: 'anything' }],
  ];
  for (const perListener of ['false', 'true']) {
    for (const anonymous of ['true', 'false', null]) {
      for (const withFile of [false, true]) {
        const name = `per_listener_settings ${perListener}, allow_anonymous ${anonymous ?? 'unset'}, ${withFile ? 'password_file' : 'no password_file'}`;
        test(name, async () => {
          const lines = (ports) => [
            `per_listener_settings ${perListener}`,
            `listener ${ports[0]} 127.0.0.1`,
            ...(anonymous === null ? [] : [`allow_anonymous ${anonymous}`]),
            ...(withFile ? ['password_file passwords'] : []),
          ];
          const files = { passwords };
          const answers = {};
          for (const kind of ['mosquitto', 'tabmq']) {
            const broker = await start(kind, (ports, dir) => lines(ports).map((l) => l.replace('password_file passwords', `password_file ${dir}/passwords`)), { files });
            answers[kind] = [];
            for (const [i, [, opts]] of clients.entries()) {
              for (const v5 of [false, true]) {
                answers[kind].push(await connackCode(broker, `auth-${i}-${v5}`, { ...opts, v5 }));
              }
            }
            await broker.stop();
          }
          assert.deepEqual(answers.tabmq, answers.mosquitto, 'tabmq answers as Mosquitto does');
          // And what Mosquitto answers is its rule: no authenticator never admits a
          // username; allow_anonymous (false once a listener is set) decides the rest.
          const admitted = answers.tabmq.map((code) => code === 0);
          const expected = clients.flatMap(([, opts]) => {
            const ok = opts.username === undefined
              ? anonymous === 'true'
              : withFile
                ? opts.username === 'alice' && opts.password === 'wonderland'
                : anonymous === 'true';
            return [ok, ok];
          });
          assert.deepEqual(admitted, expected);
        });
      }
    }
  }

  test('mosquitto_pub -u anyone -P anything is refused with allow_anonymous false and no password file', async () => {
    const broker = await start('tabmq', (ports) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous false']);
    const { code, err } = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(broker.tcp), '-u', 'anyone', '-P', 'anything', '-t', 't', '-m', 'x']);
    assert.notEqual(code, 0);
    assert.match(err, /not authori[sz]ed/i);
  });
});

/** Sends `packets` (mqtt-packet objects, MQTT 5) on a raw TCP connection and resolves
 *  with the bytes that come back within `ms`. Raw, because mqtt-packet's parser (and so
 *  MQTT.js) refuses the PUBACK 0x95 that Mosquitto sends for an oversized payload. */
function rawExchange(port, packets, ms = 1000) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', reject);
    socket.on('connect', () => {
      for (const p of packets) socket.write(mqttPacket.generate(p, { protocolVersion: 5 }));
    });
    setTimeout(() => { socket.destroy(); resolve(Buffer.concat(chunks)); }, ms);
  });
}

/** The packets in `bytes`, as [type, body] pairs. */
function split(bytes) {
  const out = [];
  let i = 0;
  while (i < bytes.length) {
    let len = 0;
    let mul = 1;
    let j = i + 1;
    for (; j < bytes.length; j++) {
      len += (bytes[j] & 0x7f) * mul;
      mul *= 128;
      if (!(bytes[j] & 0x80)) break;
    }
    out.push([bytes[i] >> 4, bytes.subarray(j + 1, j + 1 + len)]);
    i = j + 1 + len;
  }
  return out;
}

describe('CONNACK as Mosquitto writes it', () => {
  test('a byte capture of both brokers, for the same CONNECTs', async () => {
    const connects = [
      { cmd: 'connect', protocolVersion: 5, clientId: 'capture-5', clean: true, keepalive: 60 },
      { cmd: 'connect', protocolVersion: 5, clientId: '', clean: true, keepalive: 60 },
      { cmd: 'connect', protocolVersion: 5, clientId: 'capture-ka', clean: true, keepalive: 0 },
      { cmd: 'connect', protocolVersion: 4, clientId: 'capture-4', clean: true, keepalive: 60 },
    ];
    const captured = {};
    for (const kind of ['mosquitto', 'tabmq']) {
      const broker = await start(kind, (ports) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous true']);
      captured[kind] = [];
      for (const c of connects) {
        const [[type, body]] = split(await rawExchange(broker.tcp, [c], 300));
        // The assigned id is random on both: its length is compared, not its text.
        captured[kind].push([type, body.length, [...body.subarray(0, c.clientId ? body.length : 8)]]);
      }
      await broker.stop();
    }
    assert.deepEqual(captured.tabmq, captured.mosquitto);
  });
});

describe('message_size_limit bounds the payload, as in Mosquitto', () => {
  for (const kind of ['mosquitto', 'tabmq']) {
    test(`PUBLISH and will payloads over the limit (${kind})`, async () => {
      const broker = await start(kind, (ports) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous true', 'message_size_limit 10']);
      const sub = await connect(broker, 'size-sub', { v5: true });
      await sub.sub('size/#', { qos: 1 });
      const pub = await connect(broker, 'size-pub', { v5: true });
      // 10 bytes of payload pass, in a packet well over 10 bytes; 11 do not.
      await pub.pub('size/a/long/topic/name', '0123456789', { qos: 1 });
      await pub.pub('size/t', '0123456789X', { qos: 0 });
      await until(sub, 2, 500);
      assert.deepEqual(sub.payloads(), ['0123456789']);
      // At QoS 1 the flow completes with PUBACK 0x95 (Mosquitto's answer).
      const answers = split(await rawExchange(broker.tcp, [
        { cmd: 'connect', protocolVersion: 5, clientId: 'size-raw', clean: true, keepalive: 60 },
        { cmd: 'publish', topic: 'size/t', payload: Buffer.from('0123456789X'), qos: 1, messageId: 7 },
      ]));
      const puback = answers.find(([type]) => type === 4);
      assert.deepEqual([...(puback?.[1] ?? [])], [0, 7, 0x95], JSON.stringify(answers));
      assert.equal(sub.messages.length, 1);
      // A will over the limit refuses the CONNECT: 0x95 in 5.0, 5 in 3.1.1.
      const will = { topic: 'size/will', payload: Buffer.from('01234567890') };
      assert.equal(await connackCode(broker, 'w5', { v5: true, will }), 0x95);
      assert.equal(await connackCode(broker, 'w4', { will }), 5);
      await sub.end();
      await pub.end();
    });
  }
});

describe('listener options: mount_point, max_qos, upgrade_outgoing_qos, per_listener_settings', () => {
  // tabmq only: Mosquitto 2.0.11 documents that the mount point "is removed when any
  // messages are sent to the client", but sends it; tabmq does what the manual says.
  test('each as mosquitto.conf(5) describes it', async () => {
    const broker = await start('tabmq', (ports) => [
      'per_listener_settings true',
      'upgrade_outgoing_qos true',
      'max_inflight_bytes 100000',
      `listener ${ports[0]} 127.0.0.1`,
      'allow_anonymous true',
      'mount_point tenant-a/',
      'max_qos 1',
      `listener ${ports[1]} 127.0.0.1`,
      'allow_anonymous true',
    ], { count: 2 });
    const mounted = { tcp: broker.ports[0] };
    const plain = { tcp: broker.ports[1] };
    const a = await connect(mounted, 'tenant-client', { v5: true });
    const b = await connect(plain, 'admin', { v5: true });
    assert.deepEqual(await a.sub('sensors/#', { qos: 2 }), [1], 'granted at most max_qos');
    assert.deepEqual(await b.sub('tenant-a/#', { qos: 2 }), [2]);
    // The mounted client's topics live under its mount point, which it never sees.
    await a.pub('sensors/t', 'from-a', { qos: 0 });
    await until(b, 1, 2000);
    assert.deepEqual(b.messages.map((m) => [m.topic, m.qos]), [['tenant-a/sensors/t', 2]], 'upgrade_outgoing_qos: QoS 2 out');
    await b.pub('tenant-a/sensors/u', 'to-a', { qos: 1 });
    await until(a, 2, 2000);
    assert.deepEqual(a.messages.map((m) => [m.topic, m.payload]), [['sensors/t', 'from-a'], ['sensors/u', 'to-a']]);
    // Nothing outside the mount reaches it.
    await b.pub('sensors/u', 'elsewhere', { qos: 1 });
    await sleep(200);
    assert.equal(a.messages.length, 2);
    await a.end();
    await b.end();
  });

  test('keys this broker does not implement are refused by name and line, with why', async () => {
    const dir = scratchDir('tabmq-conf-');
    for (const [line, key] of [['plugin /usr/lib/x.so', 'plugin'], ['bridge_cafile x', 'bridge_cafile'], ['psk_hint x', 'psk_hint']]) {
      writeFileSync(path.join(dir, 'c.conf'), `listener 1883 127.0.0.1\n${line}\n`);
      const r = await run(process.env.TABMQ_BIN, ['broker', '-c', path.join(dir, 'c.conf')]);
      assert.notEqual(r.code, 0);
      assert.match(r.err, new RegExp(`line 2: ${key}: \\w`));
    }
  });
});

describe('MQTT 3.1 (MQIsdp) with mosquitto_pub and mosquitto_sub -V mqttv31', () => {
  test('QoS 0, 1 and 2 round trip, and a retained message', async () => {
    const broker = await start('tabmq', (ports) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous true']);
    const port = String(broker.tcp);
    const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'old/#', '-q', '2', '-v', '-C', '3', '-W', '8']);
    await sleep(300);
    for (const qos of ['0', '1', '2']) {
      const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', `old/q${qos}`, '-m', `hello ${qos}`, '-q', qos]);
      assert.equal(pub.code, 0, pub.err);
    }
    const { code, out, err } = await sub;
    assert.equal(code, 0, err);
    assert.deepEqual(out.trim().split('\n'), ['old/q0 hello 0', 'old/q1 hello 1', 'old/q2 hello 2']);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'old/state', '-m', 'on', '-r', '-q', '1']);
    const retained = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'old/state', '-C', '1', '-W', '5', '-F', '%r %t %p']);
    assert.equal(retained.out.trim(), '1 old/state on');
  });

  test('tabmq pub and sub -V mqttv31 against Mosquitto', async () => {
    const broker = await start('mosquitto', (ports) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous true']);
    const port = String(broker.tcp);
    const sub = run(process.env.TABMQ_BIN, ['sub', '-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'v31/#', '-q', '1', '-v', '-C', '2']);
    await sleep(400);
    const pub = await run(process.env.TABMQ_BIN, ['pub', '-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'v31/a', '-m', 'one', '-q', '1']);
    assert.equal(pub.code, 0, pub.err);
    const other = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-V', 'mqttv31', '-t', 'v31/b', '-m', 'two', '-q', '2']);
    assert.equal(other.code, 0, other.err);
    const { code, out, err } = await sub;
    assert.equal(code, 0, err);
    assert.deepEqual(out.trim().split('\n'), ['v31/a one', 'v31/b two']);
  });
});

describe('acl_file: the same verdicts as Mosquitto', () => {
  // Lines a client has of its own decide before patterns; deny lines first within each;
  // `$` topics only through lines that name them; a client whose username or id holds a
  // wildcard gets no pattern at all (it would widen %u or %c to other clients' topics).
  const acl = [
    'topic read public/#',
    'topic write public/anon',
    'user alice',
    'topic readwrite shared/#',
    'topic deny shared/private',
    'topic read home/+/lamp',
    'user admin',
    'topic readwrite #',
    'topic readwrite $SYS/#',
    'pattern deny shared/secret',
    'pattern readwrite home/%u/#',
    'pattern write devices/%c/state',
    'pattern read shared/%u',
    '',
  ].join('\n');
  const topics = ['public/anon', 'public/x', 'shared/secret', 'shared/private', 'shared/x', 'shared/bob',
    'home/alice/lamp', 'home/bob/lamp', 'devices/c1/state', 'devices/c2/state'];
  const clients = [['c1', undefined], ['c2', 'alice'], ['c3', 'bob'], ['c4', '+'], ['dev#4', 'bob'], ['c6', 'nobody']];

  test('publish and receive verdicts for each client and topic', async () => {
    const verdicts = {};
    for (const kind of ['mosquitto', 'tabmq']) {
      const broker = await start(kind, (ports, dir) => [`listener ${ports[0]} 127.0.0.1`, 'allow_anonymous true', `acl_file ${dir}/acl`], { files: { acl } });
      const admin = await connect(broker, 'admin', { v5: true, username: 'admin' });
      for (const t of topics) await admin.pub(t, `retained ${t}`, { qos: 1, retain: true });
      await admin.end();
      verdicts[kind] = {};
      for (const [id, username] of clients) {
        const c = await connect(broker, id, { v5: true, username });
        assert.equal(c.connack?.code, 0, `${kind} admits ${id}`);
        await c.sub('#', { qos: 1 });
        await sleep(300);
        const read = topics.filter((t) => c.messages.some((m) => m.topic === t));
        const wrote = [];
        for (const t of topics) {
          const code = await c.pub(t, 'x', { qos: 1 }).then((ack) => ack?.reasonCode ?? 0, (e) => e.code ?? -1);
          if (code === 0) wrote.push(t);
        }
        verdicts[kind][`${id}/${username ?? '-'}`] = { read, wrote };
        await c.end();
      }
      await broker.stop();
    }
    assert.deepEqual(verdicts.tabmq, verdicts.mosquitto, 'tabmq decides as Mosquitto does');
    // And the points of the order, spelled out.
    const v = verdicts.tabmq;
    assert.ok(v['c2/alice'].read.includes('shared/secret'), "alice's own line beats the pattern's deny");
    assert.ok(!v['c2/alice'].read.includes('shared/private'), "alice's own deny holds");
    assert.ok(!v['c3/bob'].read.includes('shared/secret') && v['c3/bob'].read.includes('shared/bob'));
    assert.ok(v['c3/bob'].wrote.includes('home/bob/lamp') && !v['c3/bob'].wrote.includes('home/alice/lamp'));
    assert.deepEqual(v['c4/+'], { read: [], wrote: [] }, 'a username of + widens no pattern');
    assert.deepEqual(v['dev#4/bob'], { read: [], wrote: [] }, 'nor a client id with #');
    assert.deepEqual(v['c1/-'], { read: ['public/anon', 'public/x'], wrote: ['public/anon', 'devices/c1/state'] });
  });
});
