import { describe, expect, it } from 'vitest';
import { defaultPorts } from './ports.js';

describe('defaultPorts', () => {
  it('gives DESIGN.md ports, +1 and +2 for the members of dev', () => {
    expect(defaultPorts(0)).toEqual({ clientPort: 7181, peerPort: 7888, adminPort: 7080 });
    expect(defaultPorts(2)).toEqual({ clientPort: 7183, peerPort: 7890, adminPort: 7082 });
    expect(() => defaultPorts(-1)).toThrow(RangeError);
  });
});
