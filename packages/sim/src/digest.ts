import { createHash } from 'node:crypto';
import type { LogEntry, ZabPeer } from '@zabkit/core';

const digests = new WeakMap<LogEntry, string>();

/**
 * digestOf fingerprints an entry so two members' copies can be compared cheaply (big values by
 * hash; once per entry object, as the members of a simulation share them).
 */
export function digestOf(entry: LogEntry): string {
  let digest = digests.get(entry);
  if (digest === undefined) {
    digest = fingerprint(entry);
    digests.set(entry, digest);
  }
  return digest;
}

function fingerprint(value: unknown): string {
  return JSON.stringify(value, (_key, value) => {
    if (!(value instanceof Uint8Array)) return value;
    if (value.length <= 64) return Array.from(value).join('.');
    return `${value.length}:${createHash('sha1').update(value).digest('base64')}`;
  });
}

/**
 * treeDigest fingerprints a member's applied state, independent of record order: the records of its
 * snapshot, big values by hash (core's stateDigest spells every byte out, too slow for trees of
 * megabytes).
 */
export function treeDigest(peer: ZabPeer): string {
  const { zxid, records } = peer.snapshot();
  const lines: string[] = [];
  for (const record of records) lines.push(fingerprint(record));
  lines.sort();
  const hash = createHash('sha1');
  for (const line of lines) hash.update(line);
  return `${zxid}:${hash.digest('base64')}`;
}
