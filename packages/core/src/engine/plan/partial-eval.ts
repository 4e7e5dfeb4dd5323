/**
 * Partial evaluation of a residual tree, as cel-go's partial evaluation plus `PruneAst` does it in
 * Cerbos's planner: everything that does not depend on the resource is evaluated (by the CEL
 * library, with Cerbos semantics) and folded into literals; what depends on unknown resource
 * fields stays an expression, with `&&`/`||`/`!`/`?:` simplified around known operands.
 */
import type { CelActivation, CelProgram, CelRequest } from '../../cel/index.js'
import { CelFailure } from '../../cel/failure.js'
import { compileCelProgram, evaluateQuietly } from '../../cel/program.js'
import { Duration, Optional, UnsignedInt } from '../../cel/values.js'
import { call, FALSE, lit, TRUE, toSource, type RExpr } from './residual.js'

/** The outcome of evaluating a node: known value, unknown (depends on the resource) or error. */
export type PV =
  | { readonly s: 'known'; readonly v: unknown; readonly expr: RExpr }
  | { readonly s: 'unknown'; readonly expr: RExpr }
  | { readonly s: 'error'; readonly message: string; readonly expr: RExpr }

/** What the evaluator knows: the request (with only the known resource attributes), constants, globals. */
export interface KnownData {
  readonly request: CelRequest
  /** Resource attributes given in the plan request (the others are unknown). */
  readonly resourceAttr: Readonly<Record<string, unknown>>
  readonly constants: Record<string, unknown>
  readonly globals: Record<string, unknown>
  readonly now: Date
  /** `runtime.effectiveDerivedRoles` as a residual expression (Cerbos substitutes the derived roles' conditions). */
  readonly derivedRoles: RExpr
}

/** Iteration variables in scope: a known value, or `undefined` for an unknown one. */
type Iter = ReadonlyMap<string, { readonly value: unknown } | undefined>

const programs = new Map<string, CelProgram | CelFailure>()

function programFor(source: string): CelProgram | CelFailure {
  let program = programs.get(source)
  if (program === undefined) {
    try {
      program = compileCelProgram(source, { fastPath: true })
    } catch (err) {
      program = CelFailure.of(err)
    }
    if (programs.size > 10_000) programs.clear()
    programs.set(source, program)
  }
  return program
}

/** Functions whose results are not plain values (cel-go keeps the call in the residual). */
const OPAQUE_RESULTS: ReadonlySet<string> = new Set([
  'hierarchy',
  'ip',
  'cidr',
  'spiffeID',
  'spiffeTrustDomain',
  'spiffeMatchAny',
  'spiffeMatchExact',
  'spiffeMatchOneOf',
  'spiffeMatchTrustDomain',
  'commonAncestors',
  'masked',
])

/** Cerbos's list functions, declared non-strict: they return the first unknown or failed operand themselves. */
const SET_FUNCTIONS: ReadonlySet<string> = new Set(['except', 'intersect', 'hasIntersection', 'has_intersection', 'isSubset', 'is_subset'])

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k)

/** The fields of a select chain rooted at an identifier (`R.attr.x` → [R, attr, x]), or undefined. */
function selectPath(e: RExpr): string[] | undefined {
  const out: string[] = []
  let cur = e
  while (cur.k === 'select' && !cur.test && !cur.opt) {
    out.unshift(cur.field)
    cur = cur.operand
  }
  if (cur.k !== 'ident') return undefined
  out.unshift(cur.name)
  return out
}

/** Whether a value-producing expression is a message (`request`, `P`, ...), which cel-go cannot fold into a literal. */
function isMessage(e: RExpr): boolean {
  const path = selectPath(e)
  if (!path) return false
  if (path.length === 1) return ['request', 'P', 'R', 'runtime'].includes(path[0]!)
  return path.length === 2 && path[0] === 'request' && ['principal', 'resource', 'auxData'].includes(path[1]!)
}

/** A Go `time.Duration` string in seconds, as cel-go prints a duration (`3600s`, `1.5s`). */
function durationText(d: InstanceType<typeof Duration>): string {
  const seconds = Number(d.seconds) + d.nanos / 1e9
  return `${seconds}s`
}

/** A literal tree for a known value, or undefined when cel-go could not build one. */
export function literalOf(v: unknown): RExpr | undefined {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') return lit(v)
  if (v instanceof UnsignedInt || v instanceof Uint8Array || v instanceof Optional) return lit(v)
  if (v instanceof Date) return call('timestamp', [lit(v.toISOString().replace(/\.(\d*?)0*Z$/, (_, f: string) => (f === '' ? 'Z' : `.${f}Z`)))])
  if (v instanceof Duration) return call('duration', [lit(durationText(v))])
  if (Array.isArray(v)) {
    const elems: RExpr[] = []
    for (const item of v) {
      const l = literalOf(item)
      if (!l) return undefined
      elems.push(l)
    }
    return { k: 'list', elems }
  }
  if (v instanceof Map || (typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null))) {
    const entries: Array<readonly [RExpr, RExpr]> = []
    const pairs = v instanceof Map ? [...(v as Map<unknown, unknown>).entries()] : Object.entries(v as Record<string, unknown>)
    for (const [key, value] of pairs) {
      const lk = literalOf(key)
      const lv = literalOf(value)
      if (!lk || !lv) return undefined
      entries.push([lk, lv])
    }
    return { k: 'map', entries }
  }
  return undefined
}

/** CEL's `size()` of a known value, for pruning `x in []`. */
function isEmptyCollection(v: unknown): boolean {
  if (Array.isArray(v)) return v.length === 0
  if (v instanceof Map) return v.size === 0
  return typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0
}

/** `e` with `runtime.effectiveDerivedRoles` replaced by `roles` (Cerbos substitutes it before evaluating). */
export function substituteRuntimeRoles(e: RExpr, roles: RExpr): RExpr {
  const go = (x: RExpr): RExpr => {
    switch (x.k) {
      case 'select':
        if (x.field === 'effectiveDerivedRoles' && !x.test && x.operand.k === 'ident' && x.operand.name === 'runtime') return roles
        return { ...x, operand: go(x.operand) }
      case 'call':
        return { ...x, target: x.target && go(x.target), args: x.args.map(go) }
      case 'list':
        return { k: 'list', elems: x.elems.map(go) }
      case 'map':
        return { k: 'map', entries: x.entries.map(([key, value]) => [go(key), go(value)] as const) }
      case 'compre':
        return { ...x, range: go(x.range), bodies: x.bodies.map(go) }
      default:
        return x
    }
  }
  return go(e)
}

/** The partial evaluator for one condition's known data. */
export class PartialEvaluator {
  constructor(private readonly data: KnownData) {}

  /** Partially evaluates `e` with no iteration variables in scope. */
  evaluate(e: RExpr): PV {
    return this.pe(substituteRuntimeRoles(e, this.data.derivedRoles), new Map())
  }

  /** Evaluates `e` with iteration variables bound (used when a comprehension is expanded). */
  evaluateWith(e: RExpr, iter: Iter): PV {
    return this.pe(e, iter)
  }

  /** Whether `e` reads a resource field the request does not give. */
  private resourcePathKnown(path: readonly string[]): boolean | undefined {
    let rest: readonly string[]
    if (path[0] === 'R') rest = path.slice(1)
    else if (path[0] === 'request' && path[1] === 'resource') rest = path.slice(2)
    else return undefined
    if (rest.length === 0) return false
    if (rest[0] === 'kind' || rest[0] === 'scope') return true
    return rest[0] === 'attr' && rest.length >= 2 && hasOwn(this.data.resourceAttr, rest[1]!)
  }

  /** Known-ness of trees outside comprehensions, for this request (every level of a tree asks again). */
  private readonly knownTrees = new WeakMap<RExpr, boolean>()

  /** Whether `e` can be evaluated outright (reads nothing unknown). */
  isKnown(e: RExpr, iter: Iter): boolean {
    if (iter.size > 0) return this.computeKnown(e, iter)
    let known = this.knownTrees.get(e)
    if (known === undefined) {
      known = this.computeKnown(e, iter)
      this.knownTrees.set(e, known)
    }
    return known
  }

  private computeKnown(e: RExpr, iter: Iter): boolean {
    switch (e.k) {
      case 'lit':
        return true
      case 'ident':
        if (iter.has(e.name)) return iter.get(e.name) !== undefined
        return e.name !== 'R'
      case 'select': {
        const path = selectPath(e)
        if (path && !iter.has(path[0]!)) {
          const known = this.resourcePathKnown(path)
          if (known !== undefined) return known
        }
        return this.isKnown(e.operand, iter)
      }
      case 'call':
        if (e.fn === 'cel.bind') {
          const name = (e.args[0] as { name: string }).name
          return this.isKnown(e.args[1]!, iter) && this.isKnown(e.args[2]!, new Map([...iter, [name, { value: undefined }]]))
        }
        return (e.target === undefined || this.isKnown(e.target, iter)) && e.args.every((a) => this.isKnown(a, iter))
      case 'list':
        return e.elems.every((a) => this.isKnown(a, iter))
      case 'map':
        return e.entries.every(([key, value]) => this.isKnown(key, iter) && this.isKnown(value, iter))
      case 'compre': {
        if (!this.isKnown(e.range, iter)) return false
        const inner = new Map(iter)
        for (const v of e.vars) inner.set(v, { value: undefined })
        return e.bodies.every((b) => this.isKnown(b, inner))
      }
    }
  }

  /** Evaluates a known tree with the CEL library. */
  private evalKnown(e: RExpr, iter: Iter): unknown {
    const bindings: unknown[] = []
    const known = new Map<string, unknown>()
    for (const [name, binding] of iter) if (binding !== undefined) known.set(name, binding.value)
    const source = toSource(e, bindings, known)
    const program = programFor(source)
    if (program instanceof CelFailure) return program
    const variables: Record<string, unknown> = Object.create(null) as Record<string, unknown>
    bindings.forEach((b, i) => (variables[`__${i}`] = b))
    const activation: CelActivation = {
      request: this.data.request,
      variables,
      constants: this.data.constants,
      globals: this.data.globals,
      runtime: { effectiveDerivedRoles: [] },
      now: this.data.now,
    }
    return evaluateQuietly(program, activation)
  }

  private pe(e: RExpr, iter: Iter): PV {
    if (this.isKnown(e, iter)) return this.known(e, iter)
    switch (e.k) {
      case 'ident':
        return { s: 'unknown', expr: e }
      case 'select': {
        const path = selectPath(e)
        if (path && !iter.has(path[0]!) && this.resourcePathKnown(path) === false) return { s: 'unknown', expr: e }
        const operand = this.pe(e.operand, iter)
        return this.propagate([operand], { ...e, operand: operand.expr })
      }
      case 'call':
        return this.call(e, iter)
      case 'list': {
        const elems = e.elems.map((a) => this.pe(a, iter))
        return this.propagate(elems, { k: 'list', elems: elems.map((x) => x.expr) })
      }
      case 'map': {
        const pvs = e.entries.map(([key, value]) => [this.pe(key, iter), this.pe(value, iter)] as const)
        return this.propagate(pvs.flat(), { k: 'map', entries: pvs.map(([key, value]) => [key.expr, value.expr] as const) })
      }
      case 'compre':
        return this.comprehension(e, iter)
      default:
        return { s: 'unknown', expr: e }
    }
  }

  /** A known tree: its value as a literal, or (for values cel-go cannot print) the tree with known parts folded. */
  private known(e: RExpr, iter: Iter): PV {
    const value = this.evalKnown(e, iter)
    if (value instanceof CelFailure) return { s: 'error', message: value.message, expr: this.foldChildren(e, iter) }
    const opaque = (e.k === 'call' && OPAQUE_RESULTS.has(e.fn)) || isMessage(e)
    const l = opaque ? undefined : literalOf(value)
    if (l) return { s: 'known', v: value, expr: l }
    return { s: 'known', v: value, expr: this.foldChildren(e, iter) }
  }

  /**
   * `e` with each child folded as cel-go's pruning leaves it: known children become literals, and a
   * comprehension keeps its range folded and its bodies evaluated with the iteration variables unknown.
   */
  private foldChildren(e: RExpr, iter: Iter): RExpr {
    const fold = (x: RExpr): RExpr => (x.k === 'lit' || isMessage(x) ? x : this.pe(x, iter).expr)
    switch (e.k) {
      case 'select':
        return { ...e, operand: fold(e.operand) }
      case 'call':
        return { ...e, target: e.target && fold(e.target), args: e.args.map(fold) }
      case 'list':
        return { k: 'list', elems: e.elems.map(fold) }
      case 'map':
        return { k: 'map', entries: e.entries.map(([key, value]) => [fold(key), fold(value)] as const) }
      case 'compre': {
        const inner = new Map(iter)
        for (const v of e.vars) inner.set(v, undefined)
        return { ...e, range: fold(e.range), bodies: e.bodies.map((b) => this.pe(b, inner).expr) }
      }
      default:
        return e
    }
  }

  /** A strict node: a failed operand fails it (even beside an unknown one, as the PDP answers); else it is unknown. */
  private propagate(operands: readonly PV[], expr: RExpr): PV {
    for (const o of operands) if (o.s === 'error') return { s: 'error', message: o.message, expr }
    return { s: 'unknown', expr }
  }

  /** Cerbos's list functions look at their operands in order: the first that is not a value decides. */
  private firstUndecided(operands: readonly PV[], expr: RExpr): PV {
    for (const o of operands) {
      if (o.s === 'error') return { s: 'error', message: o.message, expr }
      if (o.s === 'unknown') return { s: 'unknown', expr }
    }
    return { s: 'unknown', expr }
  }

  private call(e: Extract<RExpr, { k: 'call' }>, iter: Iter): PV {
    switch (e.fn) {
      case '&&':
      case '||':
        return this.logical(e.fn, e.args[0]!, e.args[1]!, iter)
      case '!_': {
        const arg = this.pe(e.args[0]!, iter)
        if (arg.s === 'known') return typeof arg.v === 'boolean' ? { s: 'known', v: !arg.v, expr: lit(!arg.v) } : { s: 'error', message: 'no such overload', expr: e }
        return { ...arg, expr: call('!_', [arg.expr]) }
      }
      case '?:': {
        const cond = this.pe(e.args[0]!, iter)
        if (cond.s === 'known') {
          if (typeof cond.v !== 'boolean') return { s: 'error', message: 'no such overload', expr: e }
          return this.pe(cond.v ? e.args[1]! : e.args[2]!, iter)
        }
        // The branches are not evaluated while the condition is unknown: they stay as written.
        return { ...cond, expr: call('?:', [cond.expr, e.args[1]!, e.args[2]!]) }
      }
      case 'cel.bind': {
        const name = (e.args[0] as { name: string }).name
        const init = this.pe(e.args[1]!, iter)
        const inner = new Map(iter)
        inner.set(name, init.s === 'known' ? { value: init.v } : undefined)
        const body = this.pe(e.args[2]!, inner)
        if (body.s === 'known' || init.s === 'known') return body
        return { ...body, expr: call('cel.bind', [e.args[0]!, init.expr, body.expr]) }
      }
      default: {
        const target = e.target ? this.pe(e.target, iter) : undefined
        const args = e.args.map((a) => this.pe(a, iter))
        const expr = call(e.fn, args.map((a) => a.expr), target?.expr)
        const operands = target ? [target, ...args] : args
        const result = SET_FUNCTIONS.has(e.fn) ? this.firstUndecided(operands, expr) : this.propagate(operands, expr)
        // cel-go prunes `x in <empty collection>` to false even when x is unknown.
        if (result.s === 'unknown' && e.fn === 'in' && args[1]?.s === 'known' && isEmptyCollection(args[1].v)) return { s: 'unknown', expr: FALSE }
        return result
      }
    }
  }

  /** cel-go's `&&`/`||`: a decisive known side wins; unknown beats error; the known side is pruned away. */
  private logical(op: '&&' | '||', left: RExpr, right: RExpr, iter: Iter): PV {
    const decisive = op === '||'
    const l = this.pe(left, iter)
    if (l.s === 'known' && l.v === decisive) return { s: 'known', v: decisive, expr: decisive ? TRUE : FALSE }
    const r = this.pe(right, iter)
    if (r.s === 'known' && r.v === decisive) return { s: 'known', v: decisive, expr: decisive ? TRUE : FALSE }
    if (l.s === 'unknown' || r.s === 'unknown') {
      if (l.s === 'known') return { s: 'unknown', expr: r.expr }
      if (r.s === 'known') return { s: 'unknown', expr: l.expr }
      return { s: 'unknown', expr: call(op, [l.expr, r.expr]) }
    }
    const failed = [l, r].find((x) => x.s === 'error' || typeof (x as { v?: unknown }).v !== 'boolean')
    if (failed) return { s: 'error', message: failed.s === 'error' ? failed.message : 'no such overload', expr: call(op, [l.expr, r.expr]) }
    return { s: 'known', v: !decisive, expr: decisive ? FALSE : TRUE }
  }

  /** The elements a comprehension iterates over: [first var, second var] per step. */
  private static steps(range: unknown, twoVars: boolean): Array<[unknown, unknown]> | undefined {
    if (Array.isArray(range)) return range.map((v, i) => (twoVars ? [BigInt(i), v] : [v, undefined]))
    if (range instanceof Map) return [...range.entries()].map(([k, v]) => [k, v])
    if (typeof range === 'object' && range !== null) return Object.entries(range).map(([k, v]) => [k, v])
    return undefined
  }

  private comprehension(e: Extract<RExpr, { k: 'compre' }>, iter: Iter): PV {
    const range = this.pe(e.range, iter)
    if (range.s === 'error') return { s: 'error', message: range.message, expr: e }
    const unknownVars = new Map(iter)
    for (const v of e.vars) unknownVars.set(v, undefined)
    // cel-go evaluates the loop body with the iteration variables unknown (Cerbos's evalComprehensionBody).
    const residual = (): RExpr => ({ ...e, range: range.expr, bodies: e.bodies.map((b) => this.pe(b, unknownVars).expr) })
    if (range.s === 'unknown') return { s: 'unknown', expr: residual() }
    const steps = PartialEvaluator.steps(range.v, e.vars.length === 2)
    if (!steps) return { s: 'error', message: 'expected iterable type', expr: e }
    if (e.macro === 'all' || e.macro === 'exists') {
      const decisive = e.macro === 'exists'
      let unknown = false
      let failure: string | undefined
      for (const [a, b] of steps) {
        const inner = new Map(iter)
        inner.set(e.vars[0]!, { value: a })
        if (e.vars.length === 2) inner.set(e.vars[1]!, { value: b })
        const body = this.pe(e.bodies[0]!, inner)
        if (body.s === 'known' && body.v === decisive) return { s: 'known', v: decisive, expr: lit(decisive) }
        if (body.s === 'unknown') unknown = true
        else if (body.s === 'error') failure ??= body.message
        else if (typeof body.v !== 'boolean') failure ??= 'no such overload'
      }
      if (unknown) return { s: 'unknown', expr: residual() }
      if (failure !== undefined) return { s: 'error', message: failure, expr: e }
      return { s: 'known', v: !decisive, expr: lit(!decisive) }
    }
    return { s: 'unknown', expr: residual() }
  }
}
