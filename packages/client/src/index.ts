export type { ACL, AuthId, Stat, Zxid } from '@zabkit/core';
export { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE } from '@zabkit/core';
export type { TlsClientOptions } from '@zabkit/transport-tcp';
export { digestId } from '@zabkit/transport-tcp';
export { digestAcl } from './acl.js';
export type { WatchStream } from './client.js';
export { connect, ZabClient } from './client.js';
export type { ConnectString, ServerAddress } from './connect-string.js';
export { CLIENT_PORT_DEFAULT, parseConnectString } from './connect-string.js';
export type { EnsembleConfig, EnsembleMember } from './ensemble.js';
export { clientServersOf, MEMBERS_PATH, memberEndpoint, parseEnsembleConfig } from './ensemble.js';
export type { ZabErrorOptions } from './errors.js';
export { ZabError } from './errors.js';
export type { RetryOption, RetryOptions } from './retry.js';
export { isRetryable, RetryPolicy } from './retry.js';
export { Transaction } from './transaction.js';
export type {
  AuthInfo,
  CallOptions,
  ChildrenOptions,
  ClientEvents,
  ClientLogger,
  ConnectionState,
  ConnectOptions,
  CreateModeName,
  CreateOptions,
  Data,
  ExistsOptions,
  GetACLResult,
  GetOptions,
  GetResult,
  Op,
  OpResult,
  ServerOrder,
  SignalOptions,
  VersionOptions,
  WaitOptions,
  WatchOption,
  WatchOptions,
} from './types.js';
export type { WatchedEvent, WatchedEventType } from './watch-registry.js';
