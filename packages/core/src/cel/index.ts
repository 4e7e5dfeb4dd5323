// Public API of the cel module: named exports only. Owned by the cel work stream.
export { compileCel } from './program.js'
export type { CelActivation, CelPrincipal, CelProgram, CelRequest, CelResource } from './types.js'
