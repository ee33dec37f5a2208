// `tabmq broker` with tools no one here wrote: mosquitto_pub/mosquitto_sub in both
// protocol versions, a mosquitto.conf with a password file made by mosquitto_passwd and an
// ACL file, and persistence across a restart, observed with MQTT.js.

import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { freePort, startTabmq } from './support/brokers.mjs';
import { connect, sleep, until } from './support/peer.mjs';
import { scratchDir } from './support/scratch.mjs';

const stops = [];
after(async () => { for (const stop of stops) await stop(); });

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

describe('mosquitto_pub and mosquitto_sub against tabmq broker', () => {
  for (const version of ['mqttv311', 'mqttv5']) {
    test(`QoS 0, 1 and 2 round trip (${version})`, async () => {
      const broker = await startTabmq();
      stops.push(broker.stop);
      const port = String(broker.tcp);
      const sub = run('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-V', version, '-t', 'tools/#', '-q', '2', '-v', '-C', '3', '-W', '8']);
      await sleep(300);
      for (const qos of ['0', '1', '2']) {
        const pub = await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-V', version, '-t', `tools/q${qos}`, '-m', `hello ${qos}`, '-q', qos]);
        assert.equal(pub.code, 0, pub.err);
      }
      const { code, out, err } = await sub;
      assert.equal(code, 0, err);
      assert.deepEqual(out.trim().split('\n'), ['tools/q0 hello 0', 'tools/q1 hello 1', 'tools/q2 hello 2']);
    });
  }

  test('a retained message reaches a later mosquitto_sub', async () => {
    const broker = await startTabmq();
    stops.push(broker.stop);
    const port = String(broker.tcp);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', port, '-t', 'state', '-m', 'on', '-r', '-q', '1']);
    const { out } = await run('mosquitto_sub', ['-h', '127.0.0.1', '-p', port, '-t', 'state', '-C', '1', '-W', '5', '-F', '%r %t %p']);
    assert.equal(out.trim(), '1 state on');
  });
});

describe('tabmq broker -c mosquitto.conf', () => {
  test('password_file from mosquitto_passwd, acl_file, and persistence over a kill -9', async () => {
    const dir = scratchDir('tabmq-conf-');
    const passwords = path.join(dir, 'passwords');
    writeFileSync(passwords, '');
    execFileSync('mosquitto_passwd', ['-b', passwords, 'alice', 'wonderland']);
    writeFileSync(path.join(dir, 'acl'), 'user alice\ntopic readwrite alice/#\n');
    const [tcp, ws] = [await freePort(), await freePort()];
    writeFileSync(path.join(dir, 'tabmq.conf'), [
      `listener ${tcp} 127.0.0.1`,
      `listener ${ws} 127.0.0.1`,
      'protocol websockets',
      'password_file passwords',
      'acl_file acl',
      'persistence true',
      'persistence_location .',
      '',
    ].join('\n'));
    const start = async () => {
      const proc = spawn(process.env.TABMQ_BIN, ['broker', '-c', path.join(dir, 'tabmq.conf')], { stdio: ['ignore', 'pipe', 'inherit'] });
      let lines = '';
      await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('tabmq broker did not start')), 10_000);
        proc.stdout.on('data', (d) => { lines += d; if (lines.split('\n').length > 2) { clearTimeout(timer); resolve(); } });
      });
      // A process killed by a signal keeps `exitCode` null; `signalCode` says it is gone.
      const running = () => proc.exitCode === null && proc.signalCode === null;
      const stop = (signal = 'SIGTERM') => new Promise((resolve) => {
        if (!running()) return resolve();
        proc.once('exit', resolve);
        proc.kill(signal);
      });
      stops.push(stop);
      return { tcp, ws, stop };
    };
    let broker = await start();
    const anonymous = await connect(broker, 'anon');
    assert.equal(anonymous.connack, null, 'anonymous refused: allow_anonymous defaults to false with listeners');
    const wrong = await connect(broker, 'w', { username: 'alice', password: 'rabbit' });
    assert.equal(wrong.connack, null);
    const auth = { username: 'alice', password: 'wonderland' };
    const alice = await connect(broker, 'alice-sub', { ...auth, v5: true, clean: false, properties: { sessionExpiryInterval: 3600 }, ws: true });
    assert.equal(alice.connack.code, 0);
    assert.deepEqual(await alice.sub('alice/#', { qos: 1 }), [1]);
    // Like Mosquitto 2.0, the ACL does not refuse the subscription; it holds back every
    // message alice may not read (below, bob/x never reaches her).
    assert.deepEqual(await alice.sub('bob/#', { qos: 1 }), [1]);
    await alice.end();
    const pub = await connect(broker, 'alice-pub', { ...auth, v5: true });
    await assert.rejects(pub.pub('bob/x', 'not hers', { qos: 1 }), /Not authorized/, 'nor may she publish there');
    const ack = await pub.pub('alice/inbox', 'kept across the restart', { qos: 1 });
    assert.equal(ack?.reasonCode ?? 0, 0);
    await pub.end();
    // Killed, not shut down: what was acknowledged was on disk before its PUBACK left.
    await broker.stop('SIGKILL');
    broker = await start();
    const back = await connect(broker, 'alice-sub', { ...auth, v5: true, clean: false, properties: { sessionExpiryInterval: 3600 } });
    assert.equal(back.connack.sessionPresent, true);
    await until(back, 1, 5000);
    assert.deepEqual(back.payloads(), ['kept across the restart']);
    await back.end();
    await broker.stop();
  });

  test('an unknown key is refused by name', async () => {
    const dir = scratchDir('tabmq-conf-');
    writeFileSync(path.join(dir, 'bad.conf'), 'listener 1883\nbridge_cafile x\n');
    const { code, err } = await run(process.env.TABMQ_BIN, ['broker', '-c', path.join(dir, 'bad.conf')]);
    assert.notEqual(code, 0);
    assert.match(err, /line 2: bridge_cafile: bridges are not supported yet/);
  });
});

describe('outbound topic aliases', () => {
  test('MQTT.js, announcing a Topic Alias Maximum, gets aliases and reads every topic right', async () => {
    const broker = await startTabmq();
    stops.push(broker.stop);
    const measure = async (topicAliasMaximum) => {
      const sub = await connect(broker, `alias-sub-${topicAliasMaximum}`, { v5: true, properties: topicAliasMaximum ? { topicAliasMaximum } : undefined });
      await sub.sub('plant/#', { qos: 0 });
      const pub = await connect(broker, `alias-pub-${topicAliasMaximum}`, { v5: true });
      const before = sub.c.stream.bytesRead;
      const sent = [];
      for (let i = 0; i < 200; i++) {
        const topic = `plant/line-${i % 5}/station-${i % 5}/temperature`;
        sent.push(topic);
        await pub.pub(topic, String(i), { qos: 0 });
      }
      await until(sub, 200, 5000);
      const bytes = sub.c.stream.bytesRead - before;
      assert.deepEqual(sub.messages.map((m) => m.topic), sent);
      await sub.end();
      await pub.end();
      return bytes;
    };
    const without = await measure(0);
    const withAliases = await measure(10);
    assert.ok(withAliases * 2 < without, `${withAliases} bytes with aliases, ${without} without`);
  });
});
