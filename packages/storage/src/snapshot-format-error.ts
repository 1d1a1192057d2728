/** SnapshotFormatError says what is wrong with a snapshot file and from which byte offset. */
export class SnapshotFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}

/** throwFormat throws a SnapshotFormatError (usable where an expression is expected). */
export function throwFormat(message: string, offset: number): never {
  throw new SnapshotFormatError(message, offset);
}
