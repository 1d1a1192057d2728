import { describe, expect, it } from 'vitest';
import { backoffDelayMs } from './backoff.js';

describe('backoffDelayMs', () => {
  const options = { reconnectDelayMsBase: 100, reconnectDelayMsMax: 1_000 };
  it('grows exponentially until the cap', () => {
    expect(backoffDelayMs(0, () => 0.999999, options)).toBe(99);
    expect(backoffDelayMs(2, () => 0.999999, options)).toBe(399);
    expect(backoffDelayMs(20, () => 0.999999, options)).toBe(999);
  });
  it('jitters over the whole range down to zero', () => {
    expect(backoffDelayMs(5, () => 0, options)).toBe(0);
    expect(backoffDelayMs(5, () => 0.5, options)).toBe(500);
  });
});
