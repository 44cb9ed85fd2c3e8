import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sizeClass } from '../../src/runtime/pool.js';

test('size classes cover the request and waste under a quarter', () => {
  for (let bytes = 1; bytes < 1 << 26; bytes = Math.ceil(bytes * 1.37) + 3) {
    const c = sizeClass(bytes);
    assert.ok(c >= bytes, `${c} < ${bytes}`);
    assert.ok(c % 256 === 0, `${c} is not a multiple of 256`);
    if (bytes > 256) assert.ok(c <= bytes * 1.25 + 256, `${c} wastes too much for ${bytes}`);
  }
});

test('near sizes share a class, so repeated steps reuse buffers', () => {
  assert.is(sizeClass(1000), sizeClass(1024));
  assert.is(sizeClass(3_000_000), sizeClass(3_100_000));
});

test.run();
