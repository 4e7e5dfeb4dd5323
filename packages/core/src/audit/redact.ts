import { createHash } from 'node:crypto'
import type { CheckResourcesRequest, DecisionExplanation, ExplainedCondition } from '../types.js'

/**
 * Which attribute fields reach the audit log. Paths are dotted and relative to `attr`
 * (e.g. `act.user.attr.email`). `include`, when given, keeps only the listed paths (and what is
 * under them); `exclude` then removes paths. Both apply before a record leaves `record()`.
 */
export interface AttributeFilter {
  /** Keep only these paths. @defaultValue every attribute */
  include?: readonly string[] | undefined
  /** Remove these paths. @defaultValue none */
  exclude?: readonly string[] | undefined
}

/** Attribute filters for the two attribute bags of a check request. */
export interface AuditAttributeConfig {
  /** Applied to `principal.attr`. */
  principal?: AttributeFilter | undefined
  /** Applied to each `resource.attr`. */
  resource?: AttributeFilter | undefined
}

/**
 * Digest of a credential for audit records: `sha256:<base64url>`. Equal tokens give equal digests,
 * so an operator can correlate records without the log ever holding a usable token.
 */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('base64url')}`
}

type Bag = Record<string, unknown>

const isBag = (v: unknown): v is Bag => typeof v === 'object' && v !== null && !Array.isArray(v)

function pick(source: Bag, paths: readonly string[]): Bag {
  const out: Bag = {}
  for (const path of paths) {
    const parts = path.split('.')
    let from: unknown = source
    for (const part of parts) from = isBag(from) ? from[part] : undefined
    if (from === undefined) continue
    let to = out
    parts.forEach((part, i) => {
      if (i === parts.length - 1) to[part] = from
      else to = isBag(to[part]) ? to[part] : (to[part] = {})
    })
  }
  return out
}

// Copies along the path only, so the caller's objects are never mutated.
function omit(source: Bag, path: readonly string[]): Bag {
  const [head, ...rest] = path
  if (head === undefined || !(head in source)) return source
  const copy = { ...source }
  if (rest.length === 0) Reflect.deleteProperty(copy, head)
  else if (isBag(copy[head])) copy[head] = omit(copy[head], rest)
  return copy
}

/** Applies one filter to an attribute bag; returns the input unchanged when the filter is empty. */
export function filterAttributes(
  attr: Record<string, unknown> | undefined,
  filter: AttributeFilter | undefined,
): Record<string, unknown> | undefined {
  if (attr === undefined || filter === undefined) return attr
  let out: Bag = filter.include ? pick(attr, filter.include) : attr
  for (const path of filter.exclude ?? []) out = omit(out, path.split('.'))
  return out
}

/** Applies the audit attribute configuration to a check request (returns a filtered copy). */
export function filterCheckInputs(
  request: CheckResourcesRequest,
  config: AuditAttributeConfig | undefined,
): CheckResourcesRequest {
  if (!config || (!config.principal && !config.resource)) return request
  return {
    ...request,
    principal: { ...request.principal, attr: filterAttributes(request.principal.attr, config.principal) },
    resources: request.resources.map((entry) => ({
      ...entry,
      resource: { ...entry.resource, attr: filterAttributes(entry.resource.attr, config.resource) },
    })),
  }
}

/** What a masked explanation value reads as. */
export const MASKED_VALUE = '[masked]'

const under = (path: string, prefix: string): boolean => path === prefix || path.startsWith(`${prefix}.`)

/** Whether an attribute path (relative to `attr`) survives a filter whole. */
function keptWhole(path: string, filter: AttributeFilter | undefined): boolean {
  if (filter === undefined) return true
  if (filter.include && !filter.include.some((inc) => under(path, inc))) return false
  // A value holding an excluded path, or under one, is masked.
  return !(filter.exclude ?? []).some((ex) => under(path, ex) || under(ex, path))
}

const PRINCIPAL_ATTR = 'request.principal.attr.'
const RESOURCE_ATTR = 'request.resource.attr.'

/** Whether an explanation value named `name` may be shown under `config`. */
function shown(name: string, config: AuditAttributeConfig): boolean {
  if (name.startsWith(PRINCIPAL_ATTR)) return keptWhole(name.slice(PRINCIPAL_ATTR.length), config.principal)
  if (name.startsWith(RESOURCE_ATTR)) return keptWhole(name.slice(RESOURCE_ATTR.length), config.resource)
  // A variable may be computed from any attribute: shown only when nothing is filtered.
  if (name.startsWith('V.')) return false
  return true
}

function maskCondition(condition: ExplainedCondition | undefined, config: AuditAttributeConfig): ExplainedCondition | undefined {
  if (condition === undefined) return undefined
  if ('op' in condition) return { ...condition, items: condition.items.map((item) => maskCondition(item, config) as ExplainedCondition) }
  if (condition.values === undefined) return condition
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>
  for (const [name, value] of Object.entries(condition.values)) values[name] = shown(name, config) ? value : MASKED_VALUE
  return { ...condition, values }
}

/**
 * An explanation with the values its conditions read masked as the audit attribute filters mask
 * `checkResources.inputs` (returns it unchanged when no filter is set).
 */
export function maskExplanation(explanation: DecisionExplanation, config: AuditAttributeConfig | undefined): DecisionExplanation {
  if (!config || (!config.principal && !config.resource)) return explanation
  return {
    ...explanation,
    resources: explanation.resources.map((resource) => ({
      ...resource,
      derivedRoles: resource.derivedRoles.map((role) => ({ ...role, condition: maskCondition(role.condition, config) })),
      actions: resource.actions.map((action) => ({ ...action, rules: action.rules.map((rule) => ({ ...rule, condition: maskCondition(rule.condition, config) })) })),
    })),
  }
}
