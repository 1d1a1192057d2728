export type { DistributedBarrierOptions, WaitOptions } from './barrier.js';
export { DistributedBarrier } from './barrier.js';
export type { ConfigWatcherEvents, ConfigWatcherOptions } from './config-watcher.js';
export { ConfigWatcher } from './config-watcher.js';
export type { ConnectionStateEvents, ConnectionStatePolicy, RecipeConnectionState } from './connection-state.js';
export { ConnectionStateTracker, onConnectionState } from './connection-state.js';
export type { ConsumeContext, DistributedQueueOptions } from './distributed-queue.js';
export { DistributedPriorityQueue, DistributedQueue } from './distributed-queue.js';
export type { DistributedDoubleBarrierEvents, DistributedDoubleBarrierOptions } from './double-barrier.js';
export { DistributedDoubleBarrier } from './double-barrier.js';
export type { LeaderElectionEvents, LeaderElectionOptions } from './leader-election.js';
export { LeaderElection } from './leader-election.js';
export type {
  LeaderSelectorEvents,
  LeaderSelectorOptions,
  Leadership,
  LeadershipContext,
} from './leader-selector.js';
export { LeaderSelector } from './leader-selector.js';
export type { AcquireOptions, LockEvents, LockOptions } from './lock.js';
export { Lock, QueueLock } from './lock.js';
export type { NodeCacheEvents } from './node-cache.js';
export { NodeCache } from './node-cache.js';
export type { EnsurePathOptions } from './paths.js';
export { createWithParents, ensurePath, sequenceOf, sortBySequence } from './paths.js';
export type { ProtectedCreateOptions, ProtectedNode } from './protected-create.js';
export { CleanupTracker, cleanupProtected, PROTECTED_PREFIX, protectedCreate } from './protected-create.js';
export { ReadWriteLock } from './read-write-lock.js';
export { REVOKE_DATA, requestRevocation } from './revocation.js';
export type { SemaphoreOptions } from './semaphore.js';
export { Lease, Semaphore } from './semaphore.js';
export type { RegisterOptions, Registration, ServiceInstance } from './service-registry.js';
export { ServiceRegistry } from './service-registry.js';
export type { AddResult, SharedCounterEvents, SharedCounterOptions, VersionedValue } from './shared-counter.js';
export { SharedCounter } from './shared-counter.js';
export type { CachedNode, TreeCacheEvents, TreeCacheOptions } from './tree-cache.js';
export { TreeCache } from './tree-cache.js';
