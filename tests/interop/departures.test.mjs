// Where mqtt-packet departs from the MQTT specification, the spec wins. Each departure is
// pinned here, so that a change in mqtt-packet shows up, and listed in the README.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import mqttPacket from 'mqtt-packet';

const TABMQ = process.env.TABMQ_BIN;

function tabmqDecode(flag, hex) {
  return spawnSync(TABMQ, ['decode', '-V', flag], { input: hex, encoding: 'utf8', timeout: 30_000 });
}

function parseAll(version, bytes) {
  const parser = mqttPacket.parser({ protocolVersion: version });
  const packets = [];
  const errors = [];
  parser.on('packet', (p) => packets.push(p));
  parser.on('error', (e) => errors.push(e.message));
  parser.parse(bytes);
  return { packets, errors };
}

/** A PUBLISH (MQTT 5) to "t" with the given property bytes. */
function publishWith(propsHex) {
  const props = Buffer.from(propsHex, 'hex');
  const body = Buffer.concat([Buffer.from('000174', 'hex'), Buffer.from([props.length]), props]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

test('MQTT 5 allows an empty client id with clean start 0; mqtt-packet refuses to encode it', () => {
  // MQTT 5 section 3.1.3.1: the server may accept a zero-length id and assign one; the
  // 3.1.1 rule that it needs a clean session ([MQTT-3.1.3-7]) is gone.
  const packet = { cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: false, clientId: '', keepalive: 0 };
  assert.throws(() => mqttPacket.generate(packet, { protocolVersion: 5 }), /clientId must be given/);
  const encoded = spawnSync(TABMQ, ['encode', '-V', '5'], { input: JSON.stringify(packet), encoding: 'utf8' });
  assert.equal(encoded.status, 0, encoded.stderr);
  const back = tabmqDecode('5', encoded.stdout);
  assert.equal(back.status, 0, back.stderr);
  const decoded = JSON.parse(back.stdout);
  assert.equal(decoded.clientId, '');
  assert.equal(decoded.clean, false);
});

test('a repeated user property whose first value is empty: mqtt-packet loses the empty value', () => {
  // User properties ("k", "") then ("k", "v").
  const bytes = publishWith('2600016b0000' + '2600016b000176');
  const { packets, errors } = parseAll(5, bytes);
  assert.deepEqual(errors, []);
  assert.deepEqual({ ...packets[0].properties.userProperties }, { k: 'v' }, 'mqtt-packet keeps only "v"');
  const ours = tabmqDecode('5', bytes.toString('hex'));
  assert.equal(ours.status, 0, ours.stderr);
  assert.deepEqual(JSON.parse(ours.stdout).properties.userProperties, { k: ['', 'v'] });
});

test('a duplicate single-valued property is a protocol error; mqtt-packet accepts it', () => {
  // PUBLISH (5.0) with Content Type twice. MQTT 5 section 3.3.2.3.9: "It is a Protocol
  // Error to include the Content Type more than once."
  const bytes = publishWith('0300016103000162');
  const { packets, errors } = parseAll(5, bytes);
  assert.deepEqual(errors, []);
  assert.deepEqual(packets[0].properties.contentType, ['a', 'b']);
  const ours = tabmqDecode('5', bytes.toString('hex'));
  assert.equal(ours.status, 2);
  assert.match(ours.stderr, /more than once/);
});

test('AUTH with success and no properties may be empty; mqtt-packet cannot parse it', () => {
  // MQTT 5 section 3.15.2.1: "The Reason Code and Property Length can be omitted if the
  // Reason Code is 0x00 (Success) and there are no Properties."
  const bytes = Buffer.from('f000', 'hex');
  const { errors } = parseAll(5, bytes);
  assert.deepEqual(errors, ['Invalid auth reason code']);
  const ours = tabmqDecode('5', 'f000');
  assert.equal(ours.status, 0, ours.stderr);
  assert.deepEqual(JSON.parse(ours.stdout), { cmd: 'auth', reasonCode: 0 });
});
