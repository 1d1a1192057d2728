import {
  AddWatchMode,
  type CheckRequest,
  CreateMode,
  type CreateRequest,
  type DeleteRequest,
  type GetACLRequest,
  type GetChildrenRequest,
  type GetDataRequest,
  type MultiOp,
  type MultiReadOp,
  type Request,
  type SetACLRequest,
  type SetDataRequest,
  WatcherType,
} from '@zabkit/core';
import { OP_CODES } from './op-codes.js';
import { acl, aclOrOpen, clusterMember, MEMBERS_MAX, path } from './records.js';
import {
  array,
  boolean,
  bytes,
  type FieldCodec,
  int32,
  int64,
  oneOf,
  union,
  type Variant,
  type Variants,
} from './schema.js';

const createRequest: Variant<Omit<CreateRequest, 'op'>> = {
  code: OP_CODES.create,
  fields: {
    path,
    data: bytes(),
    mode: oneOf('CreateMode', Object.values(CreateMode)),
    ttlMs: int64,
    acl: aclOrOpen,
  },
};
const getAclRequest: Variant<Omit<GetACLRequest, 'op'>> = { code: OP_CODES.getACL, fields: { path } };
const setAclRequest: Variant<Omit<SetACLRequest, 'op'>> = {
  code: OP_CODES.setACL,
  fields: { path, acl, version: int32 },
};
const deleteRequest: Variant<Omit<DeleteRequest, 'op'>> = { code: OP_CODES.delete, fields: { path, version: int32 } };
const setDataRequest: Variant<Omit<SetDataRequest, 'op'>> = {
  code: OP_CODES.setData,
  fields: { path, data: bytes(), version: int32 },
};
const checkRequest: Variant<Omit<CheckRequest, 'op'>> = { code: OP_CODES.check, fields: { path, version: int32 } };
const getDataRequest: Variant<Omit<GetDataRequest, 'op'>> = {
  code: OP_CODES.getData,
  fields: { path, watch: boolean },
};
const getChildrenRequest: Variant<Omit<GetChildrenRequest, 'op'>> = {
  code: OP_CODES.getChildren,
  fields: { path, watch: boolean },
};

/** multiOp is one op of a multi. */
export const multiOp: FieldCodec<MultiOp> = union<MultiOp, 'op'>('multi op', 'op', {
  create: createRequest,
  delete: deleteRequest,
  setData: setDataRequest,
  check: checkRequest,
});

/** multiReadOp is one op of a multiRead. */
export const multiReadOp: FieldCodec<MultiReadOp> = union<MultiReadOp, 'op'>('multiRead op', 'op', {
  getData: getDataRequest,
  getChildren: getChildrenRequest,
});

const paths = array(path);

/** anyVersionOrZxid: a reconfig's fromVersion, a configuration version (a zxid) or -1 for whatever is in force. */
const anyVersionOrZxid: FieldCodec<number> = {
  description: 'a configuration version (int64 zxid) or -1',
  encode: (value: number) => (value === -1 ? -1 : int64.encode(value)),
  decode: (value: unknown) => (value === -1 || value === -1n ? -1 : int64.decode(value)),
};

/** requestVariants is the table of {@link request}, reused by the peer protocol's forwarded requests. */
export const requestVariants: Variants<Request, 'op'> = {
  create: createRequest,
  delete: deleteRequest,
  setData: setDataRequest,
  setACL: setAclRequest,
  getACL: getAclRequest,
  check: checkRequest,
  multi: { code: OP_CODES.multi, fields: { ops: array(multiOp) } },
  getData: getDataRequest,
  exists: { code: OP_CODES.exists, fields: { path, watch: boolean } },
  getChildren: getChildrenRequest,
  getEphemerals: { code: OP_CODES.getEphemerals, fields: { prefixPath: path } },
  getAllChildrenNumber: { code: OP_CODES.getAllChildrenNumber, fields: { path } },
  whoAmI: { code: OP_CODES.whoAmI, fields: {} },
  multiRead: { code: OP_CODES.multiRead, fields: { ops: array(multiReadOp) } },
  reconfig: {
    code: OP_CODES.reconfig,
    fields: { members: array(clusterMember, MEMBERS_MAX), fromVersion: anyVersionOrZxid },
  },
  sync: { code: OP_CODES.sync, fields: { path } },
  addWatch: { code: OP_CODES.addWatch, fields: { path, mode: oneOf('AddWatchMode', Object.values(AddWatchMode)) } },
  removeWatches: {
    code: OP_CODES.removeWatches,
    fields: { path, watcherType: oneOf('WatcherType', Object.values(WatcherType)) },
  },
  setWatches: {
    code: OP_CODES.setWatches,
    fields: {
      relativeZxid: int64,
      dataWatches: paths,
      existWatches: paths,
      childWatches: paths,
      persistentWatches: paths,
      persistentRecursiveWatches: paths,
    },
  },
  closeSession: { code: OP_CODES.closeSession, fields: {} },
};

/** request is every operation a session sends after connecting; `op` is written as ZooKeeper's op code. */
export const request = union<Request, 'op'>('request', 'op', requestVariants);
