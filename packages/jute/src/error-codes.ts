import { ERROR_CODE_NUMBERS, type ErrorCode } from '@zabkit/core';

/**
 * JUTE_ERROR_CODE_NUMBERS: the KeeperException.Code a ZooKeeper client understands for each of
 * core's error codes. Core's numbers are ZooKeeper's, except two that ZooKeeper clients do not
 * know: INVALID_PATH (ZooKeeper refuses a bad path with BADARGUMENTS, -8) and NOT_LEADER (a member
 * that cannot serve now: CONNECTIONLOSS, -4, so the client retries, on another server if need be).
 */
export const JUTE_ERROR_CODE_NUMBERS: Readonly<Record<ErrorCode, number>> = Object.freeze({
  ...ERROR_CODE_NUMBERS,
  INVALID_PATH: ERROR_CODE_NUMBERS.BAD_ARGUMENTS,
  NOT_LEADER: ERROR_CODE_NUMBERS.CONNECTION_LOSS,
});

/** juteErrorCode is the ReplyHeader `err` (or multi ErrorResponse `err`) for a core ErrorCode. */
export function juteErrorCode(code: ErrorCode): number {
  const number = JUTE_ERROR_CODE_NUMBERS[code];
  if (number === undefined) throw new RangeError(`juteErrorCode: unknown error code ${String(code)}`);
  return number;
}

const BY_NUMBER: ReadonlyMap<number, ErrorCode> = new Map(
  (Object.entries(ERROR_CODE_NUMBERS) as [ErrorCode, number][])
    .filter(([code]) => code !== 'INVALID_PATH' && code !== 'NOT_LEADER')
    .map(([code, number]) => [number, code]),
);

/** errorCodeOfJute is the core ErrorCode for a ZooKeeper error number (0 and unknown numbers: undefined). */
export function errorCodeOfJute(err: number): ErrorCode | undefined {
  return BY_NUMBER.get(err);
}
