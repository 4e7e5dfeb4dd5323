import type { ASTNode } from '@marcbachmann/cel-js'

/**
 * The library's macro hooks, typed as far as meshguard's macros use them. `forkWithVariable` and
 * `setIterValue` are how the library's own comprehensions bind iteration variables.
 */
export interface ScopeContext {
  forkWithVariable(name: string, type: unknown): IterationContext
}

/** A scope with an iteration variable bound (or about to be). */
export interface IterationContext extends ScopeContext {
  setIterValue(value: unknown, ev: Evaluator): IterationContext
}

/** The type checker a macro's `typeCheck` hook receives. */
export interface Checker {
  dynType: unknown
  check(node: ASTNode, ctx: ScopeContext): unknown
  getType(name: string): unknown
}

/** The evaluator a macro's `evaluate` hook receives. */
export interface Evaluator {
  dynType: unknown
  run(node: ASTNode, ctx: ScopeContext): unknown
}

/** What the library passes a receiver-style macro: its arguments as unevaluated nodes. */
export interface MacroInput {
  args: ASTNode[]
  receiver: ASTNode
}
