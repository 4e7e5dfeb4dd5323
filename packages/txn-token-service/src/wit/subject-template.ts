/**
 * The workload identifier of an attestation that does not carry one (a Kubernetes service
 * account): a configured template over verified facts, e.g.
 * `spiffe://{trustDomain}/ns/{namespace}/sa/{serviceAccount}`.
 */
import { ConfigError } from '@meshguard/core'
import { refuse } from '../errors.js'

const PLACEHOLDER = /\{([A-Za-z]+)\}/g
/** A fact fills one path segment: no `/`, `%`, `..` or other characters that could change the path. */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/

/** Renders a template; refuses facts that could escape their segment. */
export type SubjectTemplate = (facts: Readonly<Record<string, string>>) => string

/**
 * Compiles `template` with `names` allowed as placeholders; `{trustDomain}` is fixed now.
 * @throws ConfigError naming `option`
 */
export function compileSubjectTemplate(template: string, names: readonly string[], trustDomain: string, option: string): SubjectTemplate {
  if (typeof template !== 'string' || !template.startsWith('spiffe://')) throw new ConfigError(option, 'must be a spiffe:// template')
  for (const [, name] of template.matchAll(PLACEHOLDER)) {
    if (name !== 'trustDomain' && !names.includes(name as string)) throw new ConfigError(option, `has an unknown placeholder {${String(name)}}`)
  }
  const fixed = template.replaceAll('{trustDomain}', trustDomain)
  return (facts) =>
    fixed.replace(PLACEHOLDER, (_, name: string) => {
      const value = Object.hasOwn(facts, name) ? facts[name] : undefined
      if (value === undefined || !SEGMENT.test(value) || value.includes('..')) {
        throw refuse.grant('subject_unmappable', 'the attestation cannot be mapped to a workload identifier')
      }
      return value
    })
}
