import { describe, expect, it } from 'vitest';
import { ZabError } from './errors.js';

describe('ZabError', () => {
  it('carries the code, path and op, and says them in the message', () => {
    const error = new ZabError('NO_NODE', { path: '/a', op: 'getData' });
    expect(error.code).toBe('NO_NODE');
    expect(error.path).toBe('/a');
    expect(error.op).toBe('getData');
    expect(error.message).toBe('NO_NODE: no znode at this path (getData /a)');
    expect(error).toBeInstanceOf(Error);
  });
  it('isInstance works on a look-alike from another copy of the package, and checks the code', () => {
    const foreign = Object.assign(new Error('x'), {
      [Symbol.for('@zabkit/client.ZabError')]: true,
      code: 'BAD_VERSION',
    });
    expect(ZabError.isInstance(foreign)).toBe(true);
    expect(ZabError.isInstance(foreign, 'BAD_VERSION')).toBe(true);
    expect(ZabError.isInstance(foreign, 'NO_NODE')).toBe(false);
    expect(ZabError.isInstance(new Error('x'))).toBe(false);
    expect(ZabError.isInstance(null)).toBe(false);
  });
});
