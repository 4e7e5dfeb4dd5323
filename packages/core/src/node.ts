/**
 * `@meshguard/core/node`: the parts that touch files or servers: policy directory reading and
 * watching, the file audit sink, the file-based workload token source and the Redis replay store.
 *
 * @packageDocumentation
 */
export { watchPolicies } from './reload/index.js'
export type { PolicyWatcher, WatchPoliciesOptions, ReloadEvent, SwappableEngine } from './reload/index.js'
export { readPolicyDirectory } from './policy/index.js'
export type { PolicyDirectoryFiles } from './policy/index.js'
export { fileSink } from './audit/index.js'
export type { FileSinkOptions } from './audit/index.js'
export { tokenFileSource } from './identity/index.js'
export type { TokenFileSourceOptions } from './identity/index.js'
export { redisReplayStore } from './identity/index.js'
export type { RedisCommandClient, RedisReplayStoreOptions, ReplayStore } from './identity/index.js'
export { witFileSource } from './identity/mint/wit-file-source.js'
export type { WitFileSourceOptions } from './identity/mint/wit-file-source.js'
