// Unit tests of the API tokens panel's pure helpers (tokens.js).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';

import { expiryText, rolesUpTo } from '../tokens.js';

describe('API tokens', () => {
  test('a token role is at most the user\'s', () => {
    assert.deepEqual(rolesUpTo('viewer'), ['viewer']);
    assert.deepEqual(rolesUpTo('operator'), ['viewer', 'operator']);
    assert.deepEqual(rolesUpTo('admin'), ['viewer', 'operator', 'admin']);
    assert.deepEqual(rolesUpTo('something else'), ['viewer']);
  });

  test('expiry reads never, expired, or a date', () => {
    assert.equal(expiryText({ expires_ms: null, expired: false }), 'never expires');
    assert.equal(expiryText({ expires_ms: 1000, expired: true }), 'expired');
    assert.match(expiryText({ expires_ms: Date.UTC(2030, 0, 2, 12), expired: false }), /^expires 2030-01-0[12] \d\d:00:00$/);
  });
});
