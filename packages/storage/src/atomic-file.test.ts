import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic-file.js';

describe('writeFileAtomic', () => {
  it('replaces the content and leaves no temp file behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'zabkit-atomic-'));
    const path = join(dir, 'epoch');
    await writeFileAtomic(path, new TextEncoder().encode('1'));
    await writeFileAtomic(path, new TextEncoder().encode('22'));
    expect(await readFile(path, 'utf8')).toBe('22');
    expect(await readdir(dir)).toEqual(['epoch']);
  });
});
