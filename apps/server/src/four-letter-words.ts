import { readdirSync } from 'node:fs';
import { arch, hostname, platform, release } from 'node:os';

/**
 * ZooKeeper's four-letter words, answered on the ZooKeeper client port in ZooKeeper's own output
 * formats, so that tools that parse them (`srvr`'s `Mode:` line, `mntr`'s `zk_*` keys, `ruok`'s
 * `imok`) work unchanged. Which words are answered is the `fourLetterWords` setting (ZooKeeper's
 * `4lw.commands.whitelist`).
 */

/** FourLetterWordFacts: what a member knows of itself, when a word is asked. */
export interface FourLetterWordFacts {
  version: string;
  /** mode: ZooKeeper's server state: leader, follower, observer, standalone (a one-member ensemble) or looking. */
  mode: 'leader' | 'follower' | 'observer' | 'standalone' | 'looking';
  serving: boolean;
  zxid: number;
  znodes: number;
  watches: number;
  sessions: number;
  connections: { remote: string; sessionId: number; received: number; sent: number; queuedBytes: number }[];
  outstanding: number;
  received: number;
  sent: number;
  latencyMs: { min: number; avg: number; max: number };
  /** followers and syncedFollowers: on a leader, its learners and those in broadcast. */
  followers?: number;
  syncedFollowers?: number;
  config: Record<string, string | number>;
  /** ensembleConfig: ZooKeeper's dynamic-config lines (`server.1=…`, `version=…`). */
  ensembleConfig: string;
}

/** FOUR_LETTER_WORD_DEFAULTS: answered unless configured otherwise (ZooKeeper's default is `srvr` alone; these give out nothing /metrics does not). */
export const FOUR_LETTER_WORD_DEFAULTS = ['ruok', 'srvr', 'stat', 'mntr', 'isro'] as const;

/** FOUR_LETTER_WORDS_SERVED: every word zabkit knows how to answer. */
export const FOUR_LETTER_WORDS_SERVED = ['ruok', 'srvr', 'stat', 'mntr', 'conf', 'isro', 'envi', 'cons'] as const;
export type FourLetterWord = (typeof FOUR_LETTER_WORDS_SERVED)[number];

function hex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

function serverLines(facts: FourLetterWordFacts): string[] {
  const { min, avg, max } = facts.latencyMs;
  return [
    `Latency min/avg/max: ${Math.round(min)}/${avg.toFixed(4)}/${Math.round(max)}`,
    `Received: ${facts.received}`,
    `Sent: ${facts.sent}`,
    `Connections: ${facts.connections.length}`,
    `Outstanding: ${facts.outstanding}`,
    `Zxid: ${hex(facts.zxid)}`,
    `Mode: ${facts.mode}`,
    `Node count: ${facts.znodes}`,
  ];
}

/**
 * answerFourLetterWord is the text ZooKeeper would answer to `word`, or null for a word zabkit
 * does not answer. A member that is not serving answers `srvr`, `stat` and `mntr` as ZooKeeper
 * does: "This ZooKeeper instance is not currently serving requests".
 */
export function answerFourLetterWord(word: string, facts: FourLetterWordFacts): string | null {
  const notServing = 'This ZooKeeper instance is not currently serving requests\n';
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'srvr':
      if (!facts.serving) return notServing;
      return `${[`Zookeeper version: ${facts.version}`, ...serverLines(facts)].join('\n')}\n`;
    case 'stat': {
      if (!facts.serving) return notServing;
      const clients = facts.connections.map(
        (c) => ` ${c.remote}[1](queued=${c.queuedBytes > 0 ? 1 : 0},recved=${c.received},sent=${c.sent})`,
      );
      return `${[`Zookeeper version: ${facts.version}`, 'Clients:', ...clients, '', ...serverLines(facts)].join('\n')}\n`;
    }
    case 'mntr': {
      if (!facts.serving) return notServing;
      const entries: [string, string | number][] = [
        ['zk_version', facts.version],
        ['zk_server_state', facts.mode],
        ['zk_avg_latency', Number(facts.latencyMs.avg.toFixed(4))],
        ['zk_max_latency', Math.round(facts.latencyMs.max)],
        ['zk_min_latency', Math.round(facts.latencyMs.min)],
        ['zk_packets_received', facts.received],
        ['zk_packets_sent', facts.sent],
        ['zk_num_alive_connections', facts.connections.length],
        ['zk_outstanding_requests', facts.outstanding],
        ['zk_znode_count', facts.znodes],
        ['zk_watch_count', facts.watches],
        ['zk_global_sessions', facts.sessions],
        ['zk_open_file_descriptor_count', openFileDescriptors()],
      ];
      if (facts.followers !== undefined) {
        entries.push(['zk_followers', facts.followers], ['zk_synced_followers', facts.syncedFollowers ?? 0]);
      }
      return entries.map(([key, value]) => `${key}\t${value}\n`).join('');
    }
    case 'conf':
      return `${Object.entries(facts.config)
        .map(([key, value]) => `${key}=${value}`)
        .join('\n')}\n${facts.ensembleConfig}\n`;
    case 'envi':
      return `${[
        'Environment:',
        `zookeeper.version=${facts.version}`,
        `host.name=${hostname()}`,
        `node.version=${process.version}`,
        `os.name=${platform()}`,
        `os.arch=${arch()}`,
        `os.version=${release()}`,
        `user.dir=${process.cwd()}`,
      ].join('\n')}\n`;
    case 'cons':
      return `${facts.connections
        .map(
          (c) =>
            ` ${c.remote}[1](queued=${c.queuedBytes > 0 ? 1 : 0},recved=${c.received},sent=${c.sent},sid=${hex(c.sessionId)})`,
        )
        .join('\n')}\n\n`;
    default:
      return null;
  }
}

function openFileDescriptors(): number {
  try {
    // Linux: one entry per open descriptor.
    return readdirSync('/proc/self/fd').length;
  } catch {
    return 0;
  }
}
