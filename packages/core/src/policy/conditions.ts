/**
 * Compiles condition trees and outputs to CEL programs, once, at load time. Syntax errors and
 * references to undefined variables/constants become located issues.
 */
import { celFunctionNames } from '../cel/environment.js'
import { compileCel, type CelProgram } from '../cel/index.js'
import type { PolicyIssue } from '../errors.js'
import type { CompiledCondition, CompiledOutput } from './compiled.js'
import type { DefinitionScope } from './definitions.js'
import type { ConditionDef, MatchDef, OutputDef } from './model.js'
import { didYouMean } from './suggest.js'
import { issueAt, type DocPath, type ParsedDocument } from './yaml-source.js'

/** One compiled expression and where it is written (for checks that run after compiling). */
export interface ExpressionSite {
  readonly doc: ParsedDocument
  readonly path: DocPath
  readonly program: CelProgram
}

/** Where expressions are compiled: the document, the issue list and the definition scope. */
export interface ExprContext {
  readonly doc: ParsedDocument
  readonly issues: PolicyIssue[]
  readonly scope: DefinitionScope
  /** When given, every compiled condition and output expression is added here. */
  readonly expressions?: ExpressionSite[] | undefined
}

const programCache = new Map<string, CelProgram>()

/**
 * For a call to a function that does not exist (`found no matching overload for
 * 'hasIntersectio(list<int>, list<int>)'`, `'string.containz(string)'`), the known function nearest
 * to its name; nothing when the name exists and only the argument types are wrong.
 */
function functionSuggestion(message: string): string {
  const name = /no matching overload for '(?:[\w.<>, ]+\.)?(\w+)\(/.exec(message)?.[1]
  if (name === undefined) return ''
  const known = celFunctionNames()
  return known.has(name) ? '' : didYouMean(name, known)
}

/** Compiles one expression (shared across policies: the same source gives the same program). */
export function compileExpression(ctx: Pick<ExprContext, 'doc' | 'issues'>, source: string, path: DocPath): CelProgram | undefined {
  const cached = programCache.get(source)
  if (cached) return cached
  try {
    const program = compileCel(source)
    if (programCache.size > 50_000) programCache.clear()
    programCache.set(source, program)
    return program
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    ctx.issues.push(issueAt(ctx.doc, path, `Invalid expression \`${source}\`: [${message}]${functionSuggestion(message)}`))
    return undefined
  }
}

/** Compiles an expression that reads the scope's variables/constants, and records the use. */
function compileUsedExpression(ctx: ExprContext, source: string, path: DocPath): CelProgram | undefined {
  const program = compileExpression(ctx, source, path)
  if (program) {
    ctx.scope.use(program, ctx.doc, path)
    ctx.expressions?.push({ doc: ctx.doc, path, program })
  }
  return program
}

function compileMatch(ctx: ExprContext, match: MatchDef, path: DocPath): CompiledCondition | undefined {
  if (match.expr !== undefined) {
    const program = compileUsedExpression(ctx, match.expr, [...path, 'expr'])
    return program ? { op: 'expr', program } : undefined
  }
  for (const op of ['all', 'any', 'none'] as const) {
    const list = match[op]
    if (!list) continue
    const items: CompiledCondition[] = []
    let ok = true as boolean // widened: the callback below may clear it
    list.of.forEach((m, i) => {
      const c = compileMatch(ctx, m, [...path, op, 'of', i])
      if (c) items.push(c)
      else ok = false
    })
    return ok ? { op, items } : undefined
  }
  return undefined
}

/**
 * Compiles a rule or derived-role condition.
 *
 * @returns the compiled tree; undefined when absent or broken (issues say why)
 */
export function compileCondition(ctx: ExprContext, condition: ConditionDef | undefined, path: DocPath): CompiledCondition | undefined {
  if (!condition) return undefined
  if (condition.script !== undefined) {
    ctx.issues.push(issueAt(ctx.doc, path, 'Unsupported feature: scripts in conditions are no longer supported'))
    return undefined
  }
  if (!condition.match) return undefined
  return compileMatch(ctx, condition.match, [...path, 'match'])
}

/** Compiles a rule output; an output with no expression is an error, as in Cerbos. */
export function compileOutput(ctx: ExprContext, output: OutputDef | undefined, rulePath: DocPath): CompiledOutput | undefined {
  if (!output) return undefined
  const path = [...rulePath, 'output']
  let ruleActivated: CelProgram | undefined
  let conditionNotMet: CelProgram | undefined
  if (output.expr) ruleActivated = compileUsedExpression(ctx, output.expr, [...path, 'expr'])
  if (output.when?.ruleActivated) ruleActivated = compileUsedExpression(ctx, output.when.ruleActivated, [...path, 'when', 'ruleActivated'])
  if (output.when?.conditionNotMet) {
    conditionNotMet = compileUsedExpression(ctx, output.when.conditionNotMet, [...path, 'when', 'conditionNotMet'])
  }
  if (!output.expr && !output.when?.ruleActivated && !output.when?.conditionNotMet) {
    ctx.issues.push(issueAt(ctx.doc, path, 'output must have at least one expression'))
    return undefined
  }
  return { ruleActivated, conditionNotMet }
}
