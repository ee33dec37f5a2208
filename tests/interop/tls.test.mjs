// TLS listeners of `tabmq broker` (rustls), checked by clients no one here wrote:
// mosquitto_pub/mosquitto_sub with --cafile (and a client certificate where one is
// required), and Debian's Chromium connecting a page to wss:// with a certificate the
// test trusts. paho-mqtt's TLS run is tests/interop/paho_tls.py.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { after, describe, test } from 'node:test';
import { launchChromium } from '../e2e/support/browser.mjs';
import { startConfigured } from './support/brokers.mjs';
import { makeCertificates } from './support/certs.mjs';
import { sleep } from './support/peer.mjs';

const stops = [];
after(async () => { for (const stop of stops) await stop(); });

const certs = makeCertificates();

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

async function tlsBroker(extra = [], { websockets = false } = {}) {
  const broker = await startConfigured('tabmq', (ports) => [
    `listener ${ports[0]} 127.0.0.1`,
    ...(websockets ? ['protocol websockets'] : []),
    'allow_anonymous true',
    `cafile ${certs.ca}`,
    `certfile ${certs.serverCert}`,
    `keyfile ${certs.serverKey}`,
    ...extra,
  ]);
  stops.push(broker.stop);
  return broker;
}

describe('mosquitto_pub and mosquitto_sub over TLS', () => {
  test('a round trip at every QoS, the server checked against --cafile', async () => {
    const broker = await tlsBroker();
    const port = String(broker.tcp);
    const tls = ['--cafile', certs.ca, '-h', 'localhost', '-p', port];
    const sub = run('mosquitto_sub', [...tls, '-t', 'tls/#', '-q', '2', '-v', '-C', '3', '-W', '8']);
    await sleep(400);
    for (const qos of ['0', '1', '2']) {
      const pub = await run('mosquitto_pub', [...tls, '-t', `tls/q${qos}`, '-m', `secret ${qos}`, '-q', qos]);
      assert.equal(pub.code, 0, pub.err);
    }
    const { code, out, err } = await sub;
    assert.equal(code, 0, err);
    assert.deepEqual(out.trim().split('\n'), ['tls/q0 secret 0', 'tls/q1 secret 1', 'tls/q2 secret 2']);
    // A client that trusts another CA refuses the server.
    const other = makeCertificates();
    const wrong = await run('mosquitto_pub', ['--cafile', other.ca, '-h', 'localhost', '-p', port, '-t', 't', '-m', 'x']);
    assert.notEqual(wrong.code, 0);
  });

  test('require_certificate: a client certificate is required and checked', async () => {
    const broker = await tlsBroker(['require_certificate true']);
    const base = ['--cafile', certs.ca, '-h', 'localhost', '-p', String(broker.tcp), '-t', 'x', '-m', 'y', '-q', '1'];
    const withCert = await run('mosquitto_pub', [...base, '--cert', certs.clientCert, '--key', certs.clientKey]);
    assert.equal(withCert.code, 0, withCert.err);
    const without = await run('mosquitto_pub', base);
    assert.notEqual(without.code, 0, 'no certificate, no connection');
    // A certificate from a CA the broker does not trust is refused too.
    const other = makeCertificates();
    const foreign = await run('mosquitto_pub', [...base, '--cert', other.clientCert, '--key', other.clientKey]);
    assert.notEqual(foreign.code, 0);
  });

  test('use_identity_as_username: the certificate names the client for the ACL', async () => {
    const broker = await startConfigured('tabmq', (ports, dir) => [
      `listener ${ports[0]} 127.0.0.1`,
      `cafile ${certs.ca}`,
      `certfile ${certs.serverCert}`,
      `keyfile ${certs.serverKey}`,
      'require_certificate true',
      'use_identity_as_username true',
      `acl_file ${dir}/acl`,
    ], { files: { acl: 'user sensor-7\ntopic readwrite sensors/7/#\n' } });
    stops.push(broker.stop);
    const tls = ['--cafile', certs.ca, '--cert', certs.clientCert, '--key', certs.clientKey, '-h', 'localhost', '-p', String(broker.tcp)];
    const sub = run('mosquitto_sub', [...tls, '-u', 'someone-else', '-t', 'sensors/#', '-C', '1', '-W', '6', '-v']);
    await sleep(400);
    await run('mosquitto_pub', [...tls, '-t', 'sensors/8/t', '-m', 'not mine']);
    const pub = await run('mosquitto_pub', [...tls, '-t', 'sensors/7/t', '-m', 'mine']);
    assert.equal(pub.code, 0, pub.err);
    const { out } = await sub;
    assert.equal(out.trim(), 'sensors/7/t mine', 'the CN, not the -u given, is the username');
  });
});

describe('Chromium over wss://', () => {
  test('a page connects, subscribes and receives through a TLS WebSocket listener', async () => {
    const broker = await tlsBroker([], { websockets: true });
    const browser = await launchChromium({ args: [`--ignore-certificate-errors-spki-list=${certs.spki}`] });
    stops.push(() => browser.close());
    // The page comes from this machine too: Chromium blocks a public or opaque origin
    // (about:blank) from reaching localhost (Local Network Access).
    const server = http.createServer((_, res) => { res.setHeader('content-type', 'text/html'); res.end('<!doctype html><title>wss</title>'); });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    stops.push(() => new Promise((resolve) => server.close(resolve)));
    const page = await browser.newPage();
    await page.goto(`http://localhost:${server.address().port}/`);
    // Raw MQTT 3.1.1 over the WebSocket: CONNECT, SUBSCRIBE t (QoS 0), PUBLISH t "hi".
    const got = await page.evaluate(async (port) => {
      const bytes = (...b) => new Uint8Array(b.flat());
      const str = (s) => [0, s.length, ...[...s].map((c) => c.charCodeAt(0))];
      const connect = bytes(0x10, 16, str('MQTT'), 4, 2, 0, 60, str('page'));
      const subscribe = bytes(0x82, 6, 0, 1, str('t'), 0);
      const publish = bytes(0x30, 5, str('t'), 0x68, 0x69);
      const ws = new WebSocket(`wss://localhost:${port}`, 'mqtt');
      ws.binaryType = 'arraybuffer';
      const seen = [];
      return await new Promise((resolve) => {
        const timer = setTimeout(() => resolve({ seen, error: 'timeout' }), 8000);
        ws.onerror = () => { clearTimeout(timer); resolve({ seen, error: 'websocket error' }); };
        ws.onopen = () => ws.send(connect);
        ws.onmessage = (e) => {
          const b = [...new Uint8Array(e.data)];
          seen.push(b);
          if (b[0] === 0x20) ws.send(subscribe);
          if (b[0] === 0x90) ws.send(publish);
          if (b[0] === 0x30) { clearTimeout(timer); resolve({ seen, protocol: ws.protocol }); }
        };
      });
    }, broker.tcp);
    assert.equal(got.error, undefined, JSON.stringify(got));
    assert.equal(got.protocol, 'mqtt');
    assert.deepEqual(got.seen[0], [0x20, 2, 0, 0], 'CONNACK');
    assert.deepEqual(got.seen.at(-1), [0x30, 5, 0, 1, 0x74, 0x68, 0x69], 'PUBLISH t hi');
    await browser.close();
  });
});
