// Public API of the reload module: named exports only.
export { watchPolicies } from './watch.js'
export type { PolicyWatcher, WatchPoliciesOptions, ReloadEvent, SwappableEngine } from './watch.js'
export { policyInfo } from './policy-info.js'
export type { PolicyInfo } from './policy-info.js'
