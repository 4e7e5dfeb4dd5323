// Public API of the remote module: named exports only.
export { RemoteEngine } from './remote-engine.js'
export type { RemoteEngineOptions, CerbosClientLike } from './remote-engine.js'
export type { CerbosCheckResourcesRequest, CerbosCheckResourcesResponse } from './map.js'
