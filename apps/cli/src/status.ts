import { parseConnectString } from '@zabkit/client';
import { table } from './format.js';

/** ADMIN_PORT_OFFSET maps a client port to its admin port in DESIGN.md's default layout (7181 → 7080, 7182 → 7081, …). */
export const ADMIN_PORT_OFFSET = 7181 - 7080;

/** MemberStatusRow is one member in `zabkit status`: what its admin endpoint reported, or why it could not be read. */
export interface MemberStatusRow {
  admin: string;
  id: number | null;
  role: string;
  established: boolean | null;
  epoch: number | null;
  zxid: string | null;
  leader: number | null;
  sessions: number | null;
  znodes: number | null;
  error?: string;
}

/** adminEndpoints derives admin `host:port`s from a connect string: each client port minus {@link ADMIN_PORT_OFFSET}. */
export function adminEndpoints(connectString: string): string[] {
  return parseConnectString(connectString).servers.map(({ host, port }) => {
    const adminPort = port - ADMIN_PORT_OFFSET;
    if (adminPort < 1)
      throw new TypeError(`cannot derive an admin port from client port ${port}: pass --admin host:port`);
    return `${host.includes(':') ? `[${host}]` : host}:${adminPort}`;
  });
}

interface StatusBody {
  id: number;
  role: string;
  established?: boolean;
  epoch: number;
  zxid: string;
  leader: number | null;
  sessions: number;
  znodes: number;
  members?: { id: number; host: string; adminPort?: number }[];
}

async function fetchOne(endpoint: string, timeoutMs: number): Promise<StatusBody> {
  const response = await fetch(`http://${endpoint}/status`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  return (await response.json()) as StatusBody;
}

/**
 * memberStatuses reads GET /status from each endpoint, and from the members list of the first one
 * that answers also the members it names that were not asked yet (so one admin address shows the
 * whole ensemble). Sorted by member id; unreachable endpoints are rows with `error`.
 */
export async function memberStatuses(endpoints: readonly string[], timeoutMs: number): Promise<MemberStatusRow[]> {
  const asked = new Set<string>();
  const rows: MemberStatusRow[] = [];
  const ask = async (list: readonly string[]): Promise<StatusBody[]> => {
    const fresh = list.filter((endpoint) => !asked.has(endpoint));
    for (const endpoint of fresh) asked.add(endpoint);
    const bodies: StatusBody[] = [];
    await Promise.all(
      fresh.map(async (endpoint) => {
        try {
          const body = await fetchOne(endpoint, timeoutMs);
          bodies.push(body);
          rows.push({
            admin: endpoint,
            id: body.id,
            role: body.role,
            established: body.established ?? null,
            epoch: body.epoch,
            zxid: body.zxid,
            leader: body.leader,
            sessions: body.sessions,
            znodes: body.znodes,
          });
        } catch (error) {
          const message =
            error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error);
          rows.push({
            admin: endpoint,
            id: null,
            role: 'unreachable',
            established: null,
            epoch: null,
            zxid: null,
            leader: null,
            sessions: null,
            znodes: null,
            error: message,
          });
        }
      }),
    );
    return bodies;
  };
  const first = await ask(endpoints);
  const named = first.flatMap((body) =>
    (body.members ?? [])
      // A member added by a change without an admin address in its endpoints cannot be asked.
      .filter((member) => member.adminPort !== undefined && member.host !== '')
      .map((member) => `${member.host.includes(':') ? `[${member.host}]` : member.host}:${member.adminPort}`),
  );
  await ask(named);
  // A member asked by its address that also appears under another spelling is kept once, by id.
  const byId = new Map<number, MemberStatusRow>();
  const unreachable: MemberStatusRow[] = [];
  for (const row of rows) {
    if (row.id === null) unreachable.push(row);
    else if (!byId.has(row.id)) byId.set(row.id, row);
  }
  return [
    ...[...byId.values()].sort((a, b) => a.id! - b.id!),
    ...unreachable.sort((a, b) => (a.admin < b.admin ? -1 : 1)),
  ];
}

/** statusTable prints the rows as a table for people. */
export function statusTable(rows: readonly MemberStatusRow[]): string {
  const show = (value: number | string | boolean | null) => (value === null ? '-' : String(value));
  return table(
    ['ID', 'ADMIN', 'ROLE', 'ESTABLISHED', 'EPOCH', 'ZXID', 'LEADER', 'SESSIONS', 'ZNODES'],
    rows.map((row) => [
      show(row.id),
      row.admin,
      row.error === undefined ? row.role : `unreachable (${row.error})`,
      show(row.established),
      show(row.epoch),
      show(row.zxid),
      show(row.leader),
      show(row.sessions),
      show(row.znodes),
    ]),
  );
}
