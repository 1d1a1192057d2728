import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { completeLine, loadHistory } from './shell.js';

const tree: Record<string, string[]> = { '/': ['apps', 'app-config', 'zookeeper'], '/apps': ['web', 'worker'] };
const lister = {
  async children(path: string) {
    const names = tree[path];
    if (names === undefined) throw new Error('NO_NODE');
    return names;
  },
};

describe('completeLine', () => {
  it('completes commands on the first word and paths after it', async () => {
    expect(await completeLine(lister, 'st')).toEqual([['stat', 'status'], 'st']);
    expect(await completeLine(lister, 'ls /ap')).toEqual([['/apps', '/app-config'], '/ap']);
    expect(await completeLine(lister, 'get /apps/w')).toEqual([['/apps/web', '/apps/worker'], '/apps/w']);
    expect(await completeLine(lister, 'get /missing/x')).toEqual([[], '/missing/x']);
    expect(await completeLine(lister, 'set /a da')).toEqual([[], 'da']);
  });
});

describe('loadHistory', () => {
  it('returns the newest lines first, bounded, and nothing for a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zabkit-history-'));
    const file = join(dir, 'history');
    writeFileSync(file, 'ls /\n\nget /a\n');
    expect(loadHistory(file)).toEqual(['get /a', 'ls /']);
    expect(loadHistory(join(dir, 'none'))).toEqual([]);
  });
});
