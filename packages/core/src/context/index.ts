// Public API of the context module: named exports only.
export { CallerContext, callerContext } from './caller-context.js'
export type { CallerMode, OutboundContext, BackgroundScopeOptions } from './caller-context.js'
