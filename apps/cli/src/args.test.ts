import { describe, expect, it } from 'vitest';
import { parseCliArgs } from './args.js';

describe('parseCliArgs', () => {
  it('reads the command, its arguments and the options', () => {
    expect(parseCliArgs(['get', '/a', '--server', 'h:1', '--json'])).toEqual({
      command: 'get',
      positionals: ['/a'],
      server: 'h:1',
      json: true,
    });
  });
  it('refuses unknown commands and options with a message naming them', () => {
    expect(() => parseCliArgs(['frob'])).toThrow(/unknown command "frob"/);
    expect(() => parseCliArgs(['ls', '--frob'])).toThrow(/unknown option --frob/);
  });
});
