export {
  ACL_ENTRIES_MAX,
  ACL_ID_CHARS_MAX,
  aclKey,
  checkAcl,
  fixupAcl,
  ipMatches,
  isOpenAcl,
  NO_AUTH_IDS,
  parseAddress,
  SUPER_SCHEME,
} from './acl.js';
export { AclCache, OPEN_ACL_REF } from './acl-cache.js';
export type { ApplyResult, LocalOutcome, LocalRequest, ZnodeInfo } from './data-tree.js';
export { DataTree } from './data-tree.js';
export {
  formatSequence,
  isPathWithin,
  isSystemPath,
  parentPath,
  SYSTEM_PATH,
  validateCreatePath,
  validatePath,
} from './path-utils.js';
export type { RequestPipelineOptions } from './request-pipeline.js';
export { DATA_BYTES_MAX_DEFAULT, RequestPipeline, TTL_MS_MAX } from './request-pipeline.js';
export { SessionTracker } from './session-tracker.js';
export { SnapshotImage } from './snapshot-image.js';
export type { WatchTrigger } from './watch-manager.js';
export { WatchKind, WatchManager } from './watch-manager.js';
