/** Assertion helper: the error is a kit ApiError (so a DriverError) with this code and message. */
import assert from 'node:assert/strict';
import { DriverError } from '../../engine/contract.js';
import { ApiError } from '../../providers/kit/errors.js';

export function isCode(code: string, re?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof DriverError, `expected a DriverError, got ${e}`);
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (re) assert.match(e.message, re);
    return true;
  };
}
