/**
 * PlanResources: for one principal, resource kind and actions, the condition on resource
 * attributes under which each action is allowed, combined exactly as Cerbos 0.55's planner
 * combines rules: per policy type (resource, then principal), per role, per scope (most specific
 * first) with both scope-permission modes, role-policy restrictions and deny rules.
 */
import type { CelAstNode as ASTNode } from '../../cel/types.js'
import type { CelRequest } from '../../cel/index.js'
import { cerbosEnvironment } from '../../cel/environment.js'
import { CelErrorCollector, type EvaluationError } from '../evaluation.js'
import type { PrincipalPlan, ResourcePlan, RuleTable, RowKind } from '../rule-table.js'
import { validatePlanAttributes } from '../schema-validation.js'
import type { SchemaEnforcement } from '../types.js'
import type { CompiledCondition, CompiledParams, CompiledPolicySet } from '../../policy/compiled.js'
import { normalizeScope } from '../../policy/names.js'
import { setOwn } from '../../internal/own.js'
import type { Principal, ValidationError } from '../../types.js'
import { expandResidual } from './expand.js'
import { mergeWithAnd, toFilter } from './filter.js'
import { addNode, andNode, derivedRolesExpr, exprNode, falseNode, invert, nodeConstBool, orNode, trueNode, type PlanNode } from './nodes.js'
import { PartialEvaluator } from './partial-eval.js'
import { FALSE, forEachNode, fromAst, lit, type RExpr } from './residual.js'
import type { PlanFilter } from './types.js'

/** Engine settings the planner uses. */
export interface PlanSettings {
  readonly lenientScopeSearch: boolean
  /** Cerbos `engine.strictEvaluation`: a condition that fails to evaluate denies the action outright. */
  readonly strictEvaluation: boolean
  readonly schemaEnforcement: SchemaEnforcement
  readonly globals: Record<string, unknown>
}

/** A validated plan input. */
export interface PlanInput {
  readonly principal: Principal
  readonly resource: { kind: string; attr: Record<string, unknown>; policyVersion: string; scope: string }
  readonly actions: readonly string[]
  readonly auxData: { jwt?: Record<string, unknown> | undefined; jwts?: Record<string, { claims: Record<string, unknown> }> | undefined }
}

/** What the planner decided. */
export interface PlanOutput {
  readonly filter: PlanFilter
  readonly filterDebug: string
  /** Action → the scope whose rules decided it (`''` = root or none). */
  readonly matchedScopes: Record<string, string>
  readonly validationErrors: ValidationError[]
  readonly evaluationErrors: EvaluationError[]
}

const NO_MATCH = 'NO_MATCH'
const DEFAULT_VERSION = 'default'
const CONSENT = 'SCOPE_PERMISSIONS_REQUIRE_PARENTAL_CONSENT_FOR_ALLOWS'
const NO_CONSTANTS: Record<string, unknown> = Object.freeze({})

const parsed = new Map<string, ASTNode>()

/** A fresh parse tree of an expression (the compiled program's tree has been rewritten for evaluation). */
function parse(source: string): ASTNode {
  let ast = parsed.get(source)
  if (ast === undefined) {
    ast = cerbosEnvironment().parse(source).ast
    if (parsed.size > 10_000) parsed.clear()
    parsed.set(source, ast)
  }
  return ast
}

const inlinedVariables = new WeakMap<CompiledParams, ReadonlyMap<string, RExpr>>()

/** The residual trees of a policy's variables, each with the variables it reads inlined (Cerbos's `replaceVars`). */
function variableTrees(params: CompiledParams | undefined): ReadonlyMap<string, RExpr> {
  if (!params || params.variables.length === 0) return new Map()
  let trees = inlinedVariables.get(params)
  if (!trees) {
    const out = new Map<string, RExpr>()
    for (const v of params.variables) out.set(v.name, fromAst(parse(v.program.source), lookup(out)))
    trees = out
    inlinedVariables.set(params, trees)
  }
  return trees
}

function lookup(trees: ReadonlyMap<string, RExpr>): (name: string) => RExpr {
  return (name) => {
    const tree = trees.get(name)
    if (!tree) throw new Error(`unknown variable ${JSON.stringify(name)}`)
    return tree
  }
}

const residuals = new WeakMap<CompiledParams, Map<string, RExpr>>()
const NO_PARAMS: CompiledParams = Object.freeze({ constants: NO_CONSTANTS, variables: Object.freeze([]) })

/** The residual tree of a condition expression with its policy's variables inlined (cached). */
function conditionTree(source: string, params: CompiledParams | undefined): RExpr {
  const key = params ?? NO_PARAMS
  let bySource = residuals.get(key)
  if (!bySource) residuals.set(key, (bySource = new Map<string, RExpr>()))
  let tree = bySource.get(source)
  if (!tree) {
    tree = fromAst(parse(source), lookup(variableTrees(params)))
    bySource.set(source, tree)
  }
  return tree
}

/** Strict evaluation: a condition failed, so the action being planned is denied. */
class StrictFailure extends Error {}

/** The derived roles of a scope when one of their conditions failed under strict evaluation. */
const FAILED_ROLES: RExpr = Object.freeze({ k: 'ident', name: '__failed_derived_roles__' })

/** Whether a tree reads `runtime.effectiveDerivedRoles`. */
function readsRuntimeRoles(e: RExpr): boolean {
  let found = false
  forEachNode(e, (x) => {
    if (x.k === 'select' && x.field === 'effectiveDerivedRoles' && x.operand.k === 'ident' && x.operand.name === 'runtime') found = true
  })
  return found
}

/** Per-request state: the known request data and the CEL errors met while planning. */
class PlanContext {
  readonly errors = new CelErrorCollector()
  constructor(
    readonly request: CelRequest,
    readonly resourceAttr: Record<string, unknown>,
    readonly globals: Record<string, unknown>,
    readonly now: Date,
    readonly strict: boolean,
  ) {}

  /** Cerbos's `EvaluateCondition`: a match tree as a node, constants folded through all/any/none. */
  condition(condition: CompiledCondition | undefined, params: CompiledParams | undefined, derivedRoles: RExpr): PlanNode {
    if (!condition) return trueNode()
    switch (condition.op) {
      case 'expr':
        return exprNode(this.expression(condition.program.source, params, derivedRoles))
      case 'any': {
        const nodes: PlanNode[] = []
        for (const c of condition.items) {
          const node = this.condition(c, params, derivedRoles)
          const b = nodeConstBool(node)
          if (b === true) return trueNode()
          if (b === undefined) nodes.push(node)
        }
        return nodes.length === 0 ? falseNode() : nodes.length === 1 ? nodes[0]! : { k: 'or', nodes }
      }
      case 'all': {
        const nodes: PlanNode[] = []
        for (const c of condition.items) {
          const node = this.condition(c, params, derivedRoles)
          const b = nodeConstBool(node)
          if (b === false) return falseNode()
          if (b === undefined) nodes.push(node)
        }
        return nodes.length === 0 ? trueNode() : nodes.length === 1 ? nodes[0]! : { k: 'and', nodes }
      }
      case 'none': {
        const nodes: PlanNode[] = []
        for (const c of condition.items) {
          const node = this.condition(c, params, derivedRoles)
          const b = nodeConstBool(node)
          if (b === true) return falseNode()
          if (b === undefined) nodes.push(invert(node))
        }
        return nodes.length === 0 ? trueNode() : nodes.length === 1 ? nodes[0]! : { k: 'and', nodes }
      }
    }
  }

  /** One CEL expression partially evaluated: a literal bool, or the residual over unknown resource fields. */
  private expression(source: string, params: CompiledParams | undefined, derivedRoles: RExpr): RExpr {
    const tree = conditionTree(source, params)
    if (derivedRoles === FAILED_ROLES && readsRuntimeRoles(tree)) throw new StrictFailure(source)
    const evaluator = new PartialEvaluator({
      request: this.request,
      resourceAttr: this.resourceAttr,
      constants: params?.constants ?? NO_CONSTANTS,
      globals: this.globals,
      now: this.now,
      derivedRoles,
    })
    const pv = evaluator.evaluate(tree)
    if (pv.s === 'error') {
      // A CEL runtime error makes the condition false, as in checks (strict evaluation: the action is denied).
      this.errors.add(source, pv.message)
      if (this.strict) throw new StrictFailure(source)
      return FALSE
    }
    if (pv.s === 'unknown') {
      const expanded = expandResidual(pv.expr, evaluator)
      return expanded === undefined ? pv.expr : evaluator.evaluate(expanded).expr
    }
    return typeof pv.v === 'boolean' ? lit(pv.v) : FALSE
  }
}

/** One action's combined tree, and whether any policy type allowed it at all. */
interface ActionPlan {
  hasAllow: boolean
  root: PlanNode | undefined
}

/** Whether some parent role (`*` = any) is among the principal's roles. */
function intersects(parentRoles: readonly string[], roles: ReadonlySet<string>): boolean {
  return parentRoles.some((r) => r === '*' || roles.has(r))
}

const EMPTY_ROLES: RExpr = Object.freeze({ k: 'list', elems: Object.freeze([]) })

/** What one plan carries from step to step (one object per request, no closures). */
class InputPlan {
  /** Action → the scope whose rules decided it. */
  readonly matchedScopes: Record<string, string> = {}
  /** Derived roles of each scope: the same for every action. */
  readonly derivedRolesByScope = new Map<string, RExpr>()

  /**
   * @param allRoles - the principal's roles and their role-policy ancestors at the resource scope
   */
  constructor(
    readonly table: RuleTable,
    readonly input: PlanInput,
    readonly rplan: ResourcePlan,
    readonly pplan: PrincipalPlan,
    readonly ctx: PlanContext,
    readonly resourceScope: string,
    readonly resourceVersion: string,
    readonly allRoles: ReadonlySet<string>,
  ) {}
}

/** The rules of one role over the scope chain, or of one scope: allows, denies, and role-policy denies apart. */
interface RulesPlan {
  allow: PlanNode | undefined
  deny: PlanNode | undefined
  denyRolePolicy: PlanNode | undefined
}

/**
 * Plans one request over a rule table.
 *
 * @param table - the rule table of the policy set in force
 * @param set - the compiled set (for its schemas)
 * @param input - a validated input
 * @param settings - engine options
 * @param now - the request time (`now()`)
 */
export function planInput(table: RuleTable, set: CompiledPolicySet, input: PlanInput, settings: PlanSettings, now: Date): PlanOutput {
  const { principal, resource, actions } = input
  const principalScope = normalizeScope(principal.scope)
  const principalVersion = principal.policyVersion || DEFAULT_VERSION
  const resourceScope = normalizeScope(resource.scope)
  const resourceVersion = resource.policyVersion || DEFAULT_VERSION
  const rplan = table.resourcePlan(resource.kind, resourceVersion, resourceScope, settings.lenientScopeSearch)
  const pplan = table.principalPlan(principal.id, principalVersion, principalScope, resource.kind, resourceVersion, settings.lenientScopeSearch)
  if (pplan.principalScopes.length === 0 && rplan.resourceScopes.length === 0) return denied(NO_MATCH, [])

  let validationErrors: ValidationError[] = []
  if (settings.schemaEnforcement !== 'none' && rplan.resourceKey !== '') {
    validationErrors = validatePlanAttributes(set.schemas, rplan.rootPolicy, principal.attr ?? {}, resource.attr, actions)
    if (validationErrors.length > 0 && settings.schemaEnforcement === 'reject') return denied('(false)', validationErrors)
  }

  const request: CelRequest = {
    principal: { id: principal.id, roles: principal.roles, attr: principal.attr ?? {}, policyVersion: principal.policyVersion ?? '', scope: principalScope },
    resource: { kind: resource.kind, id: '', attr: resource.attr, policyVersion: resource.policyVersion, scope: resourceScope },
    auxData: { jwt: input.auxData.jwt ?? {}, jwts: input.auxData.jwts ?? {} },
  }
  const ctx = new PlanContext(request, resource.attr, settings.globals, now, settings.strictEvaluation)
  const allRoles = new Set(table.withParentRoles(resourceScope, principal.roles))
  const p = new InputPlan(table, input, rplan, pplan, ctx, resourceScope, resourceVersion, allRoles)

  let policyMatch = false
  const filters: PlanFilter[] = []
  for (const action of actions) {
    setOwn(p.matchedScopes, action, '')
    const { hasAllow, root } = planActionOrDeny(p, action)
    let node: PlanNode
    if (root !== undefined) {
      policyMatch = true
      node = hasAllow ? root : falseNode()
    } else {
      node = falseNode()
    }
    filters.push(toFilter(node))
  }
  const merged = mergeWithAnd(filters)
  return {
    filter: merged.filter,
    filterDebug: policyMatch ? merged.debug : NO_MATCH,
    matchedScopes: p.matchedScopes,
    validationErrors,
    evaluationErrors: ctx.errors.all(),
  }
}

/** A plan that denies everything (no policy, or attributes rejected by their schemas). */
function denied(filterDebug: string, validationErrors: ValidationError[]): PlanOutput {
  return { filter: { kind: 'KIND_ALWAYS_DENIED' }, filterDebug, matchedScopes: {}, validationErrors, evaluationErrors: [] }
}

/** The scope permissions in force at `scope` (Cerbos' default: a scope overrides its parents). */
function permissionsAt(table: RuleTable, scope: string): string {
  return table.scopePermissionsAt(scope) ?? 'SCOPE_PERMISSIONS_OVERRIDE_PARENT'
}

/** The derived roles of `scope` as a tree (computed once per request and scope). */
function derivedRolesAt(p: InputPlan, scope: string): RExpr {
  let expr = p.derivedRolesByScope.get(scope)
  if (expr === undefined) {
    const roles: Array<{ name: string; node: PlanNode }> = []
    let failed = false
    for (const [name, dr] of p.table.derivedRolesAt(p.input.resource.kind, p.resourceVersion, scope) ?? []) {
      if (!intersects(dr.parentRoles, p.allRoles)) continue
      try {
        roles.push({ name, node: p.ctx.condition(dr.condition, dr.params, EMPTY_ROLES) })
      } catch (err) {
        // Strict evaluation: conditions that read these roles deny their action.
        if (!(err instanceof StrictFailure)) throw err
        failed = true
      }
    }
    roles.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    expr = failed ? FAILED_ROLES : derivedRolesExpr(roles)
    p.derivedRolesByScope.set(scope, expr)
  }
  return expr
}

/** One action's tree; under strict evaluation a condition that failed denies the action. */
function planActionOrDeny(p: InputPlan, action: string): ActionPlan {
  try {
    return planAction(p, action)
  } catch (err) {
    if (!(err instanceof StrictFailure)) throw err
    return { hasAllow: false, root: falseNode() }
  }
}

/** One action's tree: Cerbos's per-policy-type, per-role combination of the roles' scope walks. */
function planAction(p: InputPlan, action: string): ActionPlan {
  const { roles } = p.input.principal
  let hasAllow = false
  let root: PlanNode | undefined
  for (const kind of ['resource', 'principal'] as const satisfies readonly RowKind[]) {
    let kindAllow: PlanNode | undefined
    let kindDeny: PlanNode | undefined
    for (let i = 0; i < roles.length; i++) {
      // Principal rules apply to every role: one pass covers them.
      if (i > 0 && kind === 'principal') break
      const role = planRole(p, kind, action, roles[i]!)
      if (nodeConstBool(role.deny) === true || nodeConstBool(role.denyRolePolicy) === true) {
        // A certain DENY for this role: it contributes a false ALLOW, so other roles can still allow.
        role.allow = falseNode()
        role.deny = undefined
        role.denyRolePolicy = undefined
      } else if (role.allow !== undefined && role.deny === undefined && role.denyRolePolicy === undefined && nodeConstBool(role.allow) === true) {
        kindAllow = role.allow
        kindDeny = undefined
        break
      }
      if (role.denyRolePolicy !== undefined && role.allow !== undefined) role.allow = andNode([role.allow, invert(role.denyRolePolicy)])
      kindAllow = addNode(kindAllow, role.allow, orNode)
      kindDeny = addNode(kindDeny, role.deny, orNode)
    }
    if (kindAllow !== undefined) {
      hasAllow = true
      root = root === undefined ? kindAllow : orNode([kindAllow, root])
    }
    // A policy type's denies sit at the top of its subtree: NOT deny AND the rest.
    if (kindDeny !== undefined) {
      const inv = invert(kindDeny)
      root = root === undefined ? inv : andNode([inv, root])
    }
  }
  return { hasAllow, root }
}

/** One role's walk of the scope chain, most specific scope first, under both scope-permission modes. */
function planRole(p: InputPlan, kind: RowKind, action: string, role: string): RulesPlan {
  const walked: RulesPlan = { allow: undefined, deny: undefined, denyRolePolicy: undefined }
  let pendingAllow = false
  let childOverrideAllow: PlanNode | undefined
  const roles = p.table.withParentRoles(p.resourceScope, [role])
  for (const scope of kind === 'principal' ? p.pplan.principalScopes : p.rplan.resourceScopes) {
    // An unconditional ALLOW in a child OVERRIDE_PARENT scope: no parent rule can change it.
    if (nodeConstBool(childOverrideAllow) === true) break
    const here = planScope(p, kind, scope, action, roles)
    const deny = gateByChildOverrideAllow(childOverrideAllow, here.deny)
    const denyRolePolicy = gateByChildOverrideAllow(childOverrideAllow, here.denyRolePolicy)
    walked.deny = addNode(walked.deny, deny, orNode)
    walked.denyRolePolicy = addNode(walked.denyRolePolicy, denyRolePolicy, orNode)
    const perms = permissionsAt(p.table, scope)
    if (here.allow !== undefined) {
      if (walked.allow === undefined) walked.allow = here.allow
      else if (pendingAllow) {
        walked.allow = andNode([walked.allow, here.allow])
        pendingAllow = false
      } else walked.allow = orNode([walked.allow, here.allow])
      if (perms === CONSENT) pendingAllow = true
    }
    if ((deny !== undefined || denyRolePolicy !== undefined || here.allow !== undefined) && perms !== CONSENT) setOwn(p.matchedScopes, action, scope)
    if (here.allow !== undefined && perms !== CONSENT) childOverrideAllow = addNode(childOverrideAllow, here.allow, orNode)
  }
  // An ALLOW from a consent scope that no parent scope confirmed.
  if (pendingAllow) walked.allow = undefined
  return walked
}

/** The rules of one scope for the action and roles, each condition as a node. */
function planScope(p: InputPlan, kind: RowKind, scope: string, action: string, roles: readonly string[]): RulesPlan {
  const here: RulesPlan = { allow: undefined, deny: undefined, denyRolePolicy: undefined }
  const derivedRoles = kind === 'resource' ? derivedRolesAt(p, scope) : EMPTY_ROLES
  const principalId = kind === 'principal' ? p.input.principal.id : ''
  for (const row of p.table.query(p.resourceVersion, p.rplan.sanitizedResource, scope, action, roles, kind, principalId)) {
    if (row.effect === undefined) continue
    let node = p.ctx.condition(row.condition, row.params, derivedRoles)
    if (row.derivedRoleCondition) {
      const drNode = p.ctx.condition(row.derivedRoleCondition, row.derivedRoleParams, derivedRoles)
      node = row.condition ? { k: 'and', nodes: [node, drNode] } : drNode
    }
    if (row.effect === 'EFFECT_ALLOW') {
      here.allow = addNode(here.allow, node, orNode)
    } else {
      if (nodeConstBool(node) === false) continue
      if (row.fromRolePolicy) here.denyRolePolicy = addNode(here.denyRolePolicy, node, orNode)
      else here.deny = addNode(here.deny, node, orNode)
    }
  }
  return here
}

/** Narrows a parent scope's DENY to fire only when no child OVERRIDE_PARENT scope allowed. */
function gateByChildOverrideAllow(childOverrideAllow: PlanNode | undefined, deny: PlanNode | undefined): PlanNode | undefined {
  if (deny === undefined || childOverrideAllow === undefined) return deny
  const inv = invert(childOverrideAllow)
  if (nodeConstBool(deny) === true) return inv
  return andNode([inv, deny])
}
