/**
 * Per-input evaluation state: the CEL activation, variable evaluation, condition trees and
 * outputs. A CEL runtime error never throws out of here: it is recorded (de-duplicated) and the
 * expression counts as false, as Cerbos does without strict evaluation.
 */
import type { CelActivation, CelProgram, CelRequest } from '../cel/index.js'
import { CelFailure } from '../cel/failure.js'
import { evaluateQuietly } from '../cel/program.js'
import { ConditionError } from '../errors.js'
import type { CompiledCondition, CompiledParams, CompiledVariable } from '../policy/compiled.js'
import { setOwn } from '../internal/own.js'

/** A swallowed CEL runtime error. */
export interface EvaluationError {
  expression: string
  message: string
}

/** Collects CEL runtime errors once each, then lists them sorted by (expression, message). */
export class CelErrorCollector {
  /**
   * Messages by expression. Keyed by the program's own source string, whose hash V8 keeps, so a
   * repeated failure costs a lookup and no string building.
   */
  private seen: Map<string, string[]> | undefined

  add(expression: string, message: string): void {
    this.seen ??= new Map()
    const messages = this.seen.get(expression)
    if (messages === undefined) this.seen.set(expression, [message])
    else if (!messages.includes(message)) messages.push(message)
  }

  all(): EvaluationError[] {
    if (!this.seen) return []
    const errors: EvaluationError[] = []
    for (const [expression, messages] of this.seen) for (const message of messages) errors.push({ expression, message })
    return errors.sort((a, b) =>
      a.expression < b.expression ? -1 : a.expression > b.expression ? 1 : a.message < b.message ? -1 : a.message > b.message ? 1 : 0,
    )
  }
}

const NOTHING: Record<string, unknown> = Object.freeze({})
const NO_DERIVED_ROLES: { effectiveDerivedRoles: readonly string[] } = Object.freeze({ effectiveDerivedRoles: Object.freeze([]) })

const failedVariables = new WeakMap<CompiledVariable, PropertyDescriptor>()

/**
 * The property of a variable that failed to evaluate: reading it raises cel-go's `undefined field
 * '<name>'`. One error per compiled variable, thrown on every read: the error never leaves the
 * engine (it becomes an evaluation-error message), so it needs no fresh stack trace.
 */
function failedVariable(variable: CompiledVariable): PropertyDescriptor {
  let descriptor = failedVariables.get(variable)
  if (descriptor === undefined) {
    const error = new ConditionError(`undefined field '${variable.name}'`)
    descriptor = Object.freeze({
      enumerable: false,
      configurable: true,
      get: (): never => {
        throw error
      },
    })
    failedVariables.set(variable, descriptor)
  }
  return descriptor
}

/**
 * The activation handed to CEL. One object per input, updated in place between evaluations
 * (evaluation is synchronous), so a check allocates no activation per condition. `now` is read
 * lazily from a clock fixed for the whole check call.
 */
class InputActivation implements CelActivation {
  // Shared empty defaults: every evaluation sets its own before reading them.
  variables: Record<string, unknown> = NOTHING
  constants: Record<string, unknown> = NOTHING
  runtimeValue: { effectiveDerivedRoles: readonly string[] } = NO_DERIVED_ROLES
  /** Strict mode: derived roles whose condition failed make `runtime` itself an error. */
  failedRoles: readonly string[] | undefined

  constructor(
    readonly request: CelRequest,
    readonly globals: Record<string, unknown>,
    private readonly clock: () => Date,
  ) {}

  get now(): Date {
    return this.clock()
  }

  get runtime(): { effectiveDerivedRoles: readonly string[] } {
    if (this.failedRoles !== undefined && this.failedRoles.length > 0) {
      throw new ConditionError(`failed to compute effective derived roles [${this.failedRoles.join(', ')}]`)
    }
    return this.runtimeValue
  }
}

/** Everything shared by all evaluations of one input. */
export class EvaluationContext {
  readonly errors = new CelErrorCollector()
  private readonly act: InputActivation
  private roles: readonly string[] = []

  /**
   * @param request - the CEL `request` object
   * @param globals - engine globals
   * @param now - the check call's clock (returns the same Date on every call)
   */
  constructor(
    request: CelRequest,
    globals: Record<string, unknown>,
    now: () => Date,
    private readonly strict = false,
  ) {
    this.act = new InputActivation(request, globals, now)
  }

  /** Sets what `runtime.effectiveDerivedRoles` shows (it changes as scopes are visited). */
  setEffectiveDerivedRoles(roles: readonly string[], failed: readonly string[] | undefined): void {
    if (roles !== this.roles) {
      this.roles = roles
      this.act.runtimeValue = { effectiveDerivedRoles: roles }
    }
    this.act.failedRoles = failed
  }

  private activation(constants: Readonly<Record<string, unknown>>, variables: Record<string, unknown>): CelActivation {
    this.act.constants = constants
    this.act.variables = variables
    return this.act
  }

  /**
   * Evaluates an expression; a runtime error is recorded and comes back as the {@link CelFailure}
   * (no error object is built: most failures only ever become an `evaluationErrors` entry).
   */
  evaluate(program: CelProgram, constants: Readonly<Record<string, unknown>>, variables: Record<string, unknown>): unknown {
    const value = evaluateQuietly(program, this.activation(constants, variables))
    if (value instanceof CelFailure) this.errors.add(program.source, value.message)
    return value
  }

  /**
   * Evaluates a policy's variables in order. A failed variable is left out: reading it later
   * raises `undefined field '<name>'` (rule rows) or reads as null (derived-role scope pass).
   */
  evaluateVariables(params: CompiledParams, failedAs: 'undefined' | 'null'): Record<string, unknown> {
    const values: Record<string, unknown> = {}
    let failed: CompiledVariable[] | undefined
    for (const v of params.variables) {
      const value = this.evaluate(v.program, params.constants, values)
      if (value instanceof CelFailure) {
        if (failedAs === 'null') values[v.name] = null
        else (failed ??= []).push(v)
      } else {
        values[v.name] = value
      }
    }
    if (failed !== undefined) for (const v of failed) Object.defineProperty(values, v.name, failedVariable(v))
    return values
  }

  /**
   * A condition tree; a non-boolean result counts as false. A runtime error counts as false, or in
   * strict mode makes the whole tree fail (`undefined`).
   */
  satisfies(condition: CompiledCondition | undefined, constants: Readonly<Record<string, unknown>>, variables: Record<string, unknown>): boolean | undefined {
    if (!condition) return true
    switch (condition.op) {
      case 'expr': {
        const value = this.evaluate(condition.program, constants, variables)
        if (value instanceof CelFailure) return this.strict ? undefined : false
        return value === true
      }
      case 'all':
        for (const c of condition.items) {
          const v = this.satisfies(c, constants, variables)
          if (v !== true) return v
        }
        return true
      case 'any':
        for (const c of condition.items) {
          const v = this.satisfies(c, constants, variables)
          if (v !== false) return v
        }
        return false
      case 'none':
        for (const c of condition.items) {
          const v = this.satisfies(c, constants, variables)
          if (v === undefined) return undefined
          if (v) return false
        }
        return true
    }
  }

  /** Evaluates an output expression to a JSON value, or its error text. */
  output(program: CelProgram, constants: Readonly<Record<string, unknown>>, variables: Record<string, unknown>): { val: unknown } | { error: string } {
    const value = evaluateQuietly(program, this.activation(constants, variables))
    if (value instanceof CelFailure) return { error: value.message }
    try {
      return { val: toJson(value) }
    } catch (err) {
      return { error: err instanceof Error ? err.message : String(err) }
    }
  }
}

/** Converts a CEL result to JSON the way protobuf `Value` conversion does (numbers become doubles). */
export function toJson(value: unknown): unknown {
  if (value === null || value === undefined) return null
  switch (typeof value) {
    case 'bigint':
      return Number(value)
    case 'number':
    case 'string':
    case 'boolean':
      return value
    case 'object': {
      // RFC 3339 with trailing fractional zeros dropped, as Go's RFC3339Nano prints it.
      if (value instanceof Date) return value.toISOString().replace(/\.?0+Z$/, 'Z')
      if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
      if (Array.isArray(value)) return value.map(toJson)
      if (value instanceof Map) {
        const out: Record<string, unknown> = {}
        for (const [k, v] of value) setOwn(out, String(k), toJson(v))
        return out
      }
      if (value instanceof Set) return [...value].map(toJson)
      const asString = (value as { toString?: () => string }).toString
      if (Object.getPrototypeOf(value) !== Object.prototype && Object.getPrototypeOf(value) !== null && typeof asString === 'function') {
        return asString.call(value)
      }
      const out: Record<string, unknown> = {}
      const map = value as Record<string, unknown>
      // Own enumerable string keys in order, as Object.entries gives them, without the pair arrays.
      for (const k of Object.keys(map)) setOwn(out, k, toJson(map[k]))
      return out
    }
    default:
      throw new ConditionError(`cannot convert ${typeof value} to JSON`)
  }
}
