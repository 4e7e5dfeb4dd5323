/**
 * An explanation as a readable tree, for terminals and logs: what `meshguard explain` prints.
 */
import type { DecisionExplanation, ExplainedCondition, ExplainedRule } from '../../types.js'

const mark = (held: boolean | 'error'): string => (held === 'error' ? '!' : held ? '+' : '-')
const effectWord = (effect: string | undefined): string => (effect === undefined ? 'OUTPUT' : effect.replace('EFFECT_', ''))

function conditionLines(condition: ExplainedCondition, indent: string, out: string[]): void {
  if ('op' in condition) {
    out.push(`${indent}${mark(condition.result)} ${condition.op}.of:`)
    for (const item of condition.items) conditionLines(item, `${indent}    `, out)
    return
  }
  out.push(`${indent}${mark(condition.result)} ${condition.expr}${condition.error === undefined ? '' : `  (error: ${condition.error})`}`)
  for (const [name, value] of Object.entries(condition.values ?? {})) out.push(`${indent}      ${name} = ${JSON.stringify(value)}`)
}

function ruleLines(rule: ExplainedRule, indent: string, out: string[]): void {
  const via = rule.derivedRole === undefined ? `role ${rule.role}` : `derived role ${rule.derivedRole}`
  const decided = rule.decided === true ? '   <== decided' : ''
  out.push(`${indent}${mark(rule.matched)} ${rule.policy}#${rule.rule || '(role policy)'}  ${effectWord(rule.effect)}  [${via}]${decided}`)
  if (rule.condition !== undefined) conditionLines(rule.condition, `${indent}    `, out)
}

/**
 * The explanation as a readable tree: `+` held, `-` did not, `!` failed to evaluate.
 *
 * @example
 * ```
 * review r-people  roles: employee-service
 *   derived roles: - manager_in_department, + hr_user
 *   read: DENY by NO_MATCH (no rule matched: denied by default)
 *     - resource.review.vdefault#rule-001  ALLOW  [derived role manager_in_department]
 * ```
 */
export function formatExplanation(explanation: DecisionExplanation): string {
  const out: string[] = [`policy set ${explanation.policyDigest.slice(0, 12)}`]
  for (const resource of explanation.resources) {
    const where = [resource.resource.scope ? `scope ${resource.resource.scope}` : '', resource.resource.policyVersion ? `version ${resource.resource.policyVersion}` : ''].filter(Boolean).join(', ')
    out.push(`${resource.resource.kind} ${resource.resource.id}${where ? ` (${where})` : ''}  roles: ${resource.roles.join(', ')}`)
    if (resource.derivedRoles.length > 0) {
      out.push(`  derived roles: ${resource.derivedRoles.map((r) => `${r.active ? '+' : '-'} ${r.name}${r.scope ? `@${r.scope}` : ''}`).join(', ')}`)
      for (const role of resource.derivedRoles) if (!role.active && role.condition !== undefined) {
        out.push(`    ${role.name}:`)
        conditionLines(role.condition, '      ', out)
      }
    }
    for (const action of resource.actions) {
      const by = action.rule ?? action.policy
      out.push(`  ${action.action}: ${effectWord(action.effect)} by ${by}${action.scope ? ` (scope ${action.scope})` : ''}${action.note ? ` (${action.note})` : ''}`)
      for (const rule of action.rules) ruleLines(rule, '    ', out)
    }
  }
  if (explanation.truncated) out.push('(truncated: more rules, roles or values than the explanation shows)')
  return `${out.join('\n')}\n`
}

