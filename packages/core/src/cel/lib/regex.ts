import type { Environment } from '@marcbachmann/cel-js'
import { RE2JS } from 're2js'
import { ConditionError } from '../../errors.js'
import { Optional } from '../values.js'

/** `matches` is renamed at compile time to this RE2-backed function (the library's uses JS RegExp). */
export const RE2_MATCHES = 'cerbosRe2Matches'

const MAX_CACHED = 512
const compiled = new Map<string, RE2JS>()

/**
 * Compiles an RE2 pattern (linear-time matching: no catastrophic backtracking), cached by source.
 *
 * @throws ConditionError (reason `invalid_regex`) when the pattern is not valid RE2 syntax
 */
export function re2(pattern: string): RE2JS {
  let re = compiled.get(pattern)
  if (re === undefined) {
    try {
      re = RE2JS.compile(pattern)
    } catch (err) {
      throw new ConditionError(`invalid regular expression: ${pattern}`, { reason: 'invalid_regex', cause: err })
    }
    if (compiled.size >= MAX_CACHED) compiled.clear()
    compiled.set(pattern, re)
  }
  return re
}

/** CEL `matches`: true when the pattern matches any part of the text. */
export function matches(text: string, pattern: string): boolean {
  return re2(pattern).test(text)
}

/** Expands `\1`..`\9` (capture groups) and `\\` in a cel-go regex replacement. */
function expandReplacement(replacement: string, groups: ReadonlyArray<string | undefined>): string {
  return replacement.replace(/\\(\d|\\)/g, (_, ref: string) => {
    if (ref === '\\') return '\\'
    const index = Number(ref)
    if (index >= groups.length) {
      throw new ConditionError(`replacement string references unknown group ${index}`, { reason: 'invalid_argument' })
    }
    return groups[index] ?? ''
  })
}

function replace(text: string, pattern: string, replacement: string, count: bigint = -1n): string {
  if (count === 0n) return text
  const re = re2(pattern)
  let out = ''
  let last = 0
  let done = 0n
  for (const match of re.matchAll(text)) {
    const index = match.index ?? 0
    out += text.slice(last, index) + expandReplacement(replacement, [...match])
    last = index + match[0].length
    done++
    if (count > 0n && done >= count) break
  }
  return out + text.slice(last)
}

function captured(re: RE2JS, match: RegExpMatchArray): string {
  const groups = re.groupCount()
  if (groups > 1) {
    throw new ConditionError('regular expression may have at most one capturing group', { reason: 'invalid_argument' })
  }
  return groups === 1 ? (match[1] ?? '') : match[0]
}

function extract(text: string, pattern: string): Optional<string> {
  const re = re2(pattern)
  const first = re.matchAll(text).next()
  return first.done === true ? Optional.none() : Optional.of(captured(re, first.value))
}

function extractAll(text: string, pattern: string): string[] {
  const re = re2(pattern)
  return [...re.matchAll(text)].map((match) => captured(re, match))
}

class RegexNamespace {}

/** Registers RE2 `matches` and cel-go's `regex.*` extension. */
export function registerRegex(env: Environment): void {
  env.registerFunction(`string.${RE2_MATCHES}(string): bool`, matches)
  env.registerFunction(`${RE2_MATCHES}(string, string): bool`, matches)
  env.registerType('RegexNamespace', RegexNamespace)
  env.registerConstant('regex', 'RegexNamespace', new RegexNamespace())
  env.registerFunction('RegexNamespace.replace(string, string, string): string', (_: unknown, t: string, p: string, r: string) =>
    replace(t, p, r),
  )
  env.registerFunction(
    'RegexNamespace.replace(string, string, string, int): string',
    (_: unknown, t: string, p: string, r: string, n: bigint) => replace(t, p, r, n),
  )
  env.registerFunction('RegexNamespace.extract(string, string): optional<string>', (_: unknown, t: string, p: string) => extract(t, p))
  env.registerFunction('RegexNamespace.extractAll(string, string): list<string>', (_: unknown, t: string, p: string) =>
    extractAll(t, p),
  )
}
