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
export type { WatchTrigger } from './watch-manager.js';
export { WatchKind, WatchManager } from './watch-manager.js';
