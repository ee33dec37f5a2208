// Differential test of the codec against mqtt-packet (MQTT.js's own codec): one generator
// makes 10,000 random valid packets of both versions; each codec encodes them and the
// other decodes them, and every field must agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import mqttPacket from 'mqtt-packet';
import { generator } from './codec-generator.mjs';

const TABMQ = process.env.TABMQ_BIN;
const PER_VERSION = 5_000;
const SEED = Number(process.env.TABMQ_DIFF_SEED ?? 20261122);

function tabmq(args, input) {
  assert.ok(TABMQ, 'TABMQ_BIN must name the built tabmq binary');
  const out = spawnSync(TABMQ, args, { input, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
  assert.equal(out.status, 0, `tabmq ${args.join(' ')} failed: ${out.stderr}`);
  return out.stdout.trim().split('\n');
}

const hex = (b) => Buffer.from(b ?? []).toString('hex');
const sortKeys = (v) =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]))
      : v;

const BINARY_PROPS = ['correlationData', 'authenticationData'];
const FLAG_PROPS = ['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation', 'retainAvailable', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable'];

function canonProps(props, binaryIsHex) {
  if (!props || Object.keys(props).length === 0) return undefined;
  const out = {};
  for (const [k, v] of Object.entries(props)) {
    if (BINARY_PROPS.includes(k)) out[k] = binaryIsHex ? v : hex(v);
    else if (FLAG_PROPS.includes(k)) out[k] = Boolean(v);
    else if (k === 'subscriptionIdentifier') out[k] = [v].flat();
    else if (k === 'userProperties') {
      out[k] = Object.fromEntries(Object.entries(v).map(([uk, uv]) => [uk, [uv].flat()]));
    } else out[k] = v;
  }
  return out;
}

/**
 * The fields that matter, in one form, from either side: `binaryIsHex` says binary fields
 * are already hex (tabmq's JSON) rather than Buffers (mqtt-packet's objects).
 */
function canon(p, v5, binaryIsHex) {
  const bin = (b) => (b === undefined ? undefined : binaryIsHex ? b : hex(b));
  const props = v5 ? canonProps(p.properties, binaryIsHex) : undefined;
  const c = { cmd: p.cmd };
  switch (p.cmd) {
    case 'connect':
      Object.assign(c, { protocolVersion: p.protocolVersion, clean: p.clean, clientId: p.clientId, keepalive: p.keepalive, username: p.username, password: bin(p.password) });
      if (p.will) {
        c.will = { topic: p.will.topic, payload: bin(p.will.payload), qos: p.will.qos, retain: p.will.retain, properties: v5 ? canonProps(p.will.properties, binaryIsHex) : undefined };
      }
      break;
    case 'connack':
      Object.assign(c, { sessionPresent: p.sessionPresent, code: v5 ? p.reasonCode : p.returnCode });
      break;
    case 'publish':
      Object.assign(c, { qos: p.qos, dup: p.dup, retain: p.retain, topic: p.topic, payload: bin(p.payload), messageId: p.qos > 0 ? p.messageId : undefined });
      break;
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp':
      Object.assign(c, { messageId: p.messageId, reasonCode: v5 ? (p.reasonCode ?? 0) : undefined });
      break;
    case 'subscribe':
      c.messageId = p.messageId;
      c.subscriptions = p.subscriptions.map((s) => (v5 ? { topic: s.topic, qos: s.qos, nl: !!s.nl, rap: !!s.rap, rh: s.rh ?? 0 } : { topic: s.topic, qos: s.qos }));
      break;
    case 'suback':
      Object.assign(c, { messageId: p.messageId, granted: p.granted });
      break;
    case 'unsubscribe':
      Object.assign(c, { messageId: p.messageId, unsubscriptions: p.unsubscriptions });
      break;
    case 'unsuback':
      Object.assign(c, { messageId: p.messageId, granted: v5 ? p.granted : undefined });
      break;
    case 'disconnect': case 'auth':
      c.reasonCode = v5 ? (p.reasonCode ?? 0) : undefined;
      break;
  }
  c.properties = props;
  return JSON.stringify(sortKeys(JSON.parse(JSON.stringify(c))));
}

/** mqtt-packet objects as tabmq's JSON lines: Buffers become hex. */
function toTabmqJson(p) {
  return JSON.stringify(p, (k, v) =>
    v && v.type === 'Buffer' && Array.isArray(v.data) ? Buffer.from(v.data).toString('hex') : v,
  );
}

function corpus(v5) {
  const next = generator(SEED + (v5 ? 1 : 0));
  return Array.from({ length: PER_VERSION }, () => next(v5));
}

for (const v5 of [false, true]) {
  const version = v5 ? 5 : 4;
  const flag = v5 ? '5' : '311';

  test(`MQTT ${v5 ? '5.0' : '3.1.1'}: mqtt-packet encodes, tabmq decodes, all fields agree`, () => {
    const packets = corpus(v5);
    const wire = packets.map((p) => mqttPacket.generate(p, { protocolVersion: version }).toString('hex'));
    const decoded = tabmq(['decode', '-V', flag], wire.join('\n'));
    assert.equal(decoded.length, packets.length);
    for (let i = 0; i < packets.length; i++) {
      const ours = canon(JSON.parse(decoded[i]), v5, true);
      const theirs = canon(packets[i], v5, false);
      assert.equal(ours, theirs, `packet ${i} (seed ${SEED}), bytes ${wire[i]}`);
    }
  });

  test(`MQTT ${v5 ? '5.0' : '3.1.1'}: tabmq encodes, mqtt-packet decodes, all fields agree`, async () => {
    const packets = corpus(v5);
    const lines = tabmq(['encode', '-V', flag], packets.map(toTabmqJson).join('\n'));
    assert.equal(lines.length, packets.length);
    const parser = mqttPacket.parser({ protocolVersion: version });
    const parsed = [];
    const errors = [];
    parser.on('packet', (p) => parsed.push(p));
    parser.on('error', (e) => errors.push(e.message));
    for (let i = 0; i < lines.length; i++) {
      const before = parsed.length;
      parser.parse(Buffer.from(lines[i], 'hex'));
      assert.deepEqual(errors, [], `packet ${i} (seed ${SEED}): ${lines[i]}`);
      assert.equal(parsed.length, before + 1, `packet ${i} parsed once: ${lines[i]}`);
      assert.equal(canon(parsed[i], v5, false), canon(packets[i], v5, false), `packet ${i} (seed ${SEED}): ${lines[i]}`);
    }
  });
}
