// Unit test of socket.js, the page's /ws connection (run from web/: `node --test tests/`): a
// connection the gateway closes (4008, too slow, or any other) is opened again by itself,
// within a second the first time, and the page's subscription is sent again.

import assert from 'node:assert/strict';
import { mock, test } from 'node:test';

/** A stand-in for the browser's WebSocket that the test opens and closes. */
class FakeSocket {
  static OPEN = 1;
  static made = [];

  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.listeners = new Map();
    FakeSocket.made.push(this);
  }

  addEventListener(type, listener) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(listener);
  }

  emit(type, event = {}) {
    if (type === 'open') this.readyState = FakeSocket.OPEN;
    if (type === 'close') this.readyState = 3;
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  send(text) {
    this.sent.push(text);
  }

  close() {
    this.emit('close', { code: 1005 });
  }
}

test('a connection closed by the gateway as too slow (4008) is opened again and resubscribes', async () => {
  mock.timers.enable({ apis: ['setTimeout'] });
  globalThis.WebSocket = FakeSocket;
  globalThis.location = { protocol: 'http:', host: 'netpulse.example:8080' };
  const { LiveSocket } = await import('../socket.js');
  const states = [];
  const opens = [];
  const live = new LiveSocket({
    onMessage: () => {},
    onState: (up) => states.push(up),
    onOpen: (reconnected) => opens.push(reconnected),
  }, () => ({ type: 'subscribe', devices: '*', live: ['core-1'] }));
  live.start();
  assert.equal(FakeSocket.made.length, 1);
  assert.equal(FakeSocket.made[0].url, 'ws://netpulse.example:8080/ws');
  FakeSocket.made[0].emit('open');
  assert.deepEqual(FakeSocket.made[0].sent.map((t) => JSON.parse(t).live), [['core-1']]);

  FakeSocket.made[0].emit('close', { code: 4008, reason: 'too slow: a message waited more than 10000 ms' });
  assert.deepEqual(states, [true, false], 'the page shows it is reconnecting');
  mock.timers.tick(999);
  assert.equal(FakeSocket.made.length, 2, 'a new connection within a second');
  FakeSocket.made[1].emit('open');
  assert.deepEqual(opens, [false, true], 'told it reconnected: the page reloads what it shows');
  assert.equal(FakeSocket.made[1].sent.length, 1, 'the subscription is sent again');

  live.stop();
  mock.timers.tick(60_000);
  assert.equal(FakeSocket.made.length, 2, 'a stopped connection stays closed');
  mock.timers.reset();
});
