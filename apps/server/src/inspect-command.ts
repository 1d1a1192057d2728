import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { formatReport, inspectFile } from '@zabkit/storage';

/**
 * runInspect: `zabkit-server inspect log|snapshot PATH [--json] [--records N]` prints what a log
 * segment or a snapshot file holds (ZooKeeper's zkTxnLogToolkit / zkSnapShotToolkit): a summary
 * (counts, zxid range, sizes), whether it is whole (crc, torn tail), then a line per record.
 * Exit 0 for a whole file, 1 for a torn or corrupt one, 2 for a usage error or another kind of file.
 */
export function runInspect(args: readonly string[]): void {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    process.stderr.write(`zabkit-server inspect: ${(error as Error).message}\n${INSPECT_USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  const { kind, path, json, records } = parsed;
  let report: ReturnType<typeof inspectFile>;
  try {
    report = inspectFile(readFileSync(path));
  } catch (error) {
    process.stderr.write(`zabkit-server inspect: ${path}: ${(error as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  if (report.kind !== kind) {
    process.stderr.write(
      `zabkit-server inspect: ${path} is a ${report.kind === 'log' ? 'log segment' : 'snapshot'}, not a ${kind}\n`,
    );
    process.exitCode = 2;
    return;
  }
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, records));
  process.exitCode = report.integrity.whole ? 0 : 1;
}

export const INSPECT_USAGE = 'zabkit-server inspect log|snapshot PATH [--json] [--records N]';

function parse(args: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, records: { type: 'string' } },
  });
  const [kind, path, ...extra] = positionals;
  if (kind !== 'log' && kind !== 'snapshot') throw new Error('say which: log or snapshot');
  if (path === undefined || extra.length > 0) throw new Error('one PATH');
  const records = values.records === undefined ? Number.POSITIVE_INFINITY : Number(values.records);
  if (!(Number.isInteger(records) || records === Number.POSITIVE_INFINITY) || records < 0) {
    throw new Error(`--records: a whole number, not ${values.records}`);
  }
  return { kind: kind as 'log' | 'snapshot', path, json: values.json === true, records };
}
