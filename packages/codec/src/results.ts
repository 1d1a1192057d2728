import type {
  CheckResult,
  CreateResult,
  DeleteResult,
  ErrorResult,
  GetChildrenResult,
  GetDataResult,
  MultiOpResult,
  MultiReadOpResult,
  Result,
  SetACLResult,
  SetDataResult,
} from '@zabkit/core';
import { OP_CODES } from './op-codes.js';
import { acl, authIds, errorCode, path, stat } from './records.js';
import {
  array,
  bytes,
  type FieldCodec,
  int64,
  nonNegativeInt32,
  nullable,
  string,
  union,
  type Variant,
} from './schema.js';

const createResult: Variant<Omit<CreateResult, 'op'>> = { code: OP_CODES.create, fields: { path, stat } };
const deleteResult: Variant<Omit<DeleteResult, 'op'>> = { code: OP_CODES.delete, fields: {} };
const setDataResult: Variant<Omit<SetDataResult, 'op'>> = { code: OP_CODES.setData, fields: { stat } };
const checkResult: Variant<Omit<CheckResult, 'op'>> = { code: OP_CODES.check, fields: {} };
const errorResult: Variant<Omit<ErrorResult, 'op'>> = { code: OP_CODES.error, fields: { code: errorCode } };
const getDataResult: Variant<Omit<GetDataResult, 'op'>> = { code: OP_CODES.getData, fields: { data: bytes(), stat } };
const getChildrenResult: Variant<Omit<GetChildrenResult, 'op'>> = {
  code: OP_CODES.getChildren,
  fields: { children: array(string), stat },
};

/** multiOpResult is one op's result inside a MultiResult. */
export const multiOpResult: FieldCodec<MultiOpResult> = union<MultiOpResult, 'op'>('multi result', 'op', {
  create: createResult,
  delete: deleteResult,
  setData: setDataResult,
  check: checkResult,
  error: errorResult,
});

/** multiReadOpResult is one op's result inside a MultiReadResult. */
export const multiReadOpResult: FieldCodec<MultiReadOpResult> = union<MultiReadOpResult, 'op'>(
  'multiRead result',
  'op',
  { getData: getDataResult, getChildren: getChildrenResult, error: errorResult },
);

/** result is what a successful request answers with; `op` is written as ZooKeeper's op code. */
export const result = union<Result, 'op'>('result', 'op', {
  create: createResult,
  delete: deleteResult,
  setData: setDataResult,
  setACL: { code: OP_CODES.setACL, fields: { stat } } satisfies Variant<Omit<SetACLResult, 'op'>>,
  getACL: { code: OP_CODES.getACL, fields: { acl, stat } },
  check: checkResult,
  multi: { code: OP_CODES.multi, fields: { results: array(multiOpResult) } },
  getData: getDataResult,
  exists: { code: OP_CODES.exists, fields: { stat: nullable(stat) } },
  getChildren: getChildrenResult,
  getEphemerals: { code: OP_CODES.getEphemerals, fields: { paths: array(path) } },
  getAllChildrenNumber: { code: OP_CODES.getAllChildrenNumber, fields: { count: nonNegativeInt32 } },
  whoAmI: { code: OP_CODES.whoAmI, fields: { ids: authIds } },
  multiRead: { code: OP_CODES.multiRead, fields: { results: array(multiReadOpResult) } },
  sync: { code: OP_CODES.sync, fields: { path } },
  reconfig: { code: OP_CODES.reconfig, fields: { version: int64 } },
  addWatch: { code: OP_CODES.addWatch, fields: {} },
  removeWatches: { code: OP_CODES.removeWatches, fields: {} },
  setWatches: { code: OP_CODES.setWatches, fields: {} },
  closeSession: { code: OP_CODES.closeSession, fields: {} },
});
