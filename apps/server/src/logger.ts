import { type Logger, pino } from 'pino';

/**
 * createLogger makes the member's structured logger: one JSON line per event on stdout (pino), with
 * the member id on every line. `zabkit-server dev` pretty-prints these lines itself.
 */
export function createLogger(memberId: number, level: string): Logger {
  return pino({
    level,
    base: { member: memberId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

const LEVEL_COLOR: Record<string, string> = {
  trace: '\u001b[90m',
  debug: '\u001b[90m',
  info: '\u001b[32m',
  warn: '\u001b[33m',
  error: '\u001b[31m',
  fatal: '\u001b[41m',
};

/** prettyLine renders one pino JSON line for humans (`dev`); other lines pass through unchanged. */
export function prettyLine(line: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof record !== 'object' || record === null || typeof record.msg !== 'string') return line;
  const { level, time, msg, member: _member, pid: _pid, hostname: _hostname, ...fields } = record;
  const label = String(level ?? 'info');
  const clock = typeof time === 'string' ? time.slice(11, 23) : '';
  const extra = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const levelText = label.toUpperCase().padEnd(5);
  const painted = color ? `${LEVEL_COLOR[label] ?? ''}${levelText}\u001b[0m` : levelText;
  return `${clock} ${painted} ${msg}${extra ? ` ${extra}` : ''}`;
}
