import type { Stat } from '@zabkit/client';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** hex formats a zxid or session id as ZooKeeper's tools do (`0x100000002`). */
export function hex(value: number): string {
  return `0x${value.toString(16)}`;
}

/** decodeData is a znode's data as text when it is valid UTF-8, else undefined. */
export function decodeData(data: Uint8Array): string | undefined {
  try {
    return utf8.decode(data);
  } catch {
    return undefined;
  }
}

/** dataJson is a znode's data for --json: the UTF-8 text, or base64 with `encoding: "base64"` when it is not text. */
export function dataJson(data: Uint8Array): { data: string; encoding?: 'base64' } {
  const text = decodeData(data);
  return text === undefined ? { data: Buffer.from(data).toString('base64'), encoding: 'base64' } : { data: text };
}

/** dataHuman is a znode's data for people: the text, or `0x…` hex when it is not UTF-8. */
export function dataHuman(data: Uint8Array): string {
  return decodeData(data) ?? `0x${Buffer.from(data).toString('hex')}`;
}

/** statHuman prints a Stat as zkCli does: one `name = value` per line, zxids in hex, times as ISO dates. */
export function statHuman(stat: Stat): string {
  return [
    `cZxid = ${hex(stat.czxid)}`,
    `ctime = ${new Date(stat.ctime).toISOString()}`,
    `mZxid = ${hex(stat.mzxid)}`,
    `mtime = ${new Date(stat.mtime).toISOString()}`,
    `pZxid = ${hex(stat.pzxid)}`,
    `cversion = ${stat.cversion}`,
    `dataVersion = ${stat.version}`,
    `aclVersion = ${stat.aversion}`,
    `ephemeralOwner = ${hex(stat.ephemeralOwner)}`,
    `dataLength = ${stat.dataLength}`,
    `numChildren = ${stat.numChildren}`,
  ].join('\n');
}

/** table lays rows out in columns under a header, padded to the widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
