// schedule.js's nextTask, under Node (which has MessageChannel and queueMicrotask): the
// calls made while its message is on its way share it, and run in one later task, in call
// order, after what was queued before the first of them.

import { test } from 'node:test';
import assert from 'node:assert/strict';

const posted = { count: 0 };
const post = MessagePort.prototype.postMessage;
MessagePort.prototype.postMessage = function countedPost(...args) {
  posted.count += 1;
  return post.apply(this, args);
};
const { nextTask } = await import('../../web/npm/schedule.js');

const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

test('calls made while a message is on its way share it, after the tasks queued before', async () => {
  const order = [];
  const before = new MessageChannel();
  before.port1.onmessage = () => order.push('queued before');
  before.port2.postMessage(0);
  const posts = posted.count;
  nextTask(() => {
    order.push('a');
    // A microtask of `a` runs after `b`: both ran in one task.
    queueMicrotask(() => order.push('microtask of a'));
  });
  nextTask(() => order.push('b'));
  await settle();
  nextTask(() => order.push('c'));
  await settle();
  before.port1.close();
  assert.deepEqual(order, ['queued before', 'a', 'b', 'microtask of a', 'c']);
  // One message for a and b, one for c.
  assert.equal(posted.count - posts, 2);
});

test('a call made while the calls run waits for a message of its own', async () => {
  const order = [];
  nextTask(() => {
    order.push('first');
    nextTask(() => order.push('made by first'));
  });
  nextTask(() => order.push('second'));
  await settle();
  assert.deepEqual(order, ['first', 'second', 'made by first']);
});

test('a call that throws is reported and the others still run', async () => {
  const reported = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (e) => reported.push(e.message));
  const order = [];
  try {
    nextTask(() => {
      throw new Error('boom');
    });
    nextTask(() => order.push('after the throw'));
    await settle();
  } finally {
    process.removeAllListeners('uncaughtException');
    for (const l of listeners) process.on('uncaughtException', l);
  }
  assert.deepEqual(order, ['after the throw']);
  assert.deepEqual(reported, ['boom']);
});
