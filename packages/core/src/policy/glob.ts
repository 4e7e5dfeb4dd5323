/**
 * Cerbos glob matching (gobwas/glob with `:` as the separator): `*` matches a run of characters that
 * does not cross `:`, `**` crosses it, `?` is one non-separator character, `[a-z]`/`[!a]` are
 * classes, `{a,b}` are alternatives and `\` escapes. A lone `*` matches everything.
 */

/** Tests one string against a compiled glob. */
export type GlobMatcher = (value: string) => boolean

const cache = new Map<string, GlobMatcher>()
const MAX_CACHE = 4096

const escapeRegex = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')

/** Translates a gobwas glob into a RegExp source. Returns undefined for a malformed glob. */
function globToRegexSource(glob: string): string | undefined {
  let out = ''
  let i = 0
  const alternatives: number[] = []
  while (i < glob.length) {
    const c = glob[i] as string
    if (c === '\\') {
      const next = glob[i + 1]
      if (next === undefined) return undefined
      out += escapeRegex(next)
      i += 2
      continue
    }
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*'
        i += 2
      } else {
        out += '[^:]*'
        i += 1
      }
      continue
    }
    if (c === '?') {
      out += '[^:]'
      i += 1
      continue
    }
    if (c === '[') {
      const close = glob.indexOf(']', i + 1)
      if (close < 0) return undefined
      let body = glob.slice(i + 1, close)
      const negate = body.startsWith('!')
      if (negate) body = body.slice(1)
      if (body.length === 0) return undefined
      const cls = body.replace(/[\\\]^]/g, '\\$&')
      out += negate ? `[^${cls}:]` : `[${cls}]`
      i = close + 1
      continue
    }
    if (c === '{') {
      alternatives.push(i)
      out += '(?:'
      i += 1
      continue
    }
    if (c === ',' && alternatives.length > 0) {
      out += '|'
      i += 1
      continue
    }
    if (c === '}' && alternatives.length > 0) {
      alternatives.pop()
      out += ')'
      i += 1
      continue
    }
    out += escapeRegex(c)
    i += 1
  }
  if (alternatives.length > 0) return undefined
  return out
}

/**
 * Compiles a Cerbos glob. A malformed glob matches nothing (Cerbos logs and skips it).
 *
 * @param glob - the pattern, e.g. `view:*`
 */
export function compileGlob(glob: string): GlobMatcher {
  const cached = cache.get(glob)
  if (cached) return cached
  let matcher: GlobMatcher
  if (glob === '*' || glob === '**') {
    matcher = () => true
  } else {
    const source = globToRegexSource(glob)
    if (source === undefined) {
      matcher = () => false
    } else {
      const re = new RegExp(`^${source}$`, 's')
      matcher = (value) => re.test(value)
    }
  }
  if (cache.size >= MAX_CACHE) cache.clear()
  cache.set(glob, matcher)
  return matcher
}

/** `true` when `value` matches `glob` as a full gobwas glob (used for role-policy actions, ignoreWhen). */
export function matchesGlob(glob: string, value: string): boolean {
  return compileGlob(glob)(value)
}

/**
 * The rule-table rule: a key with `*` is a glob, any other key must equal the value exactly
 * (so `view?` in a policy is a literal action name, as in Cerbos' index).
 */
export function matchesKey(key: string, value: string): boolean {
  return key.includes('*') ? compileGlob(key)(value) : key === value
}
