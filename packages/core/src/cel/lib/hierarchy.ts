import type { Environment } from '@marcbachmann/cel-js'
import { invalidArgument } from '../values.js'

/**
 * Cerbos `hierarchy`: a path such as `a.b.c` as its list of segments. It is modelled as a CEL
 * `list<string>`, so `==`, `size()` and `[i]` behave as in Cerbos without a custom type.
 */
type Hierarchy = readonly string[]

function startsWith(long: Hierarchy, prefix: Hierarchy): boolean {
  for (let i = 0; i < prefix.length; i++) if (long[i] !== prefix[i]) return false
  return true
}

/** `a` is a strict prefix of `b`. */
export function ancestorOf(a: Hierarchy, b: Hierarchy): boolean {
  return b.length > a.length && startsWith(b, a)
}

/** `b` is `a` plus one segment. */
export function immediateParentOf(a: Hierarchy, b: Hierarchy): boolean {
  return b.length === a.length + 1 && startsWith(b, a)
}

/** Same length and the same parent. */
export function siblingOf(a: Hierarchy, b: Hierarchy): boolean {
  return a.length === b.length && startsWith(b, a.slice(0, -1))
}

/** One is a prefix of (or equal to) the other. */
export function overlaps(a: Hierarchy, b: Hierarchy): boolean {
  return a.length <= b.length ? startsWith(b, a) : startsWith(a, b)
}

/** The shared leading segments; for equal lengths the last segment is never included. */
export function commonAncestors(a: Hierarchy, b: Hierarchy): string[] {
  let [shorter, longer] = a.length <= b.length ? [a, b] : [b, a]
  if (shorter.length === longer.length) {
    shorter = shorter.slice(0, -1)
    longer = longer.slice(0, -1)
  }
  const out: string[] = []
  for (let i = 0; i < shorter.length && shorter[i] === longer[i]; i++) out.push(shorter[i]!)
  return out
}

/** Registers `hierarchy(...)` and its methods. */
export function registerHierarchy(env: Environment): void {
  env.registerFunction('hierarchy(string): list<string>', (path: string) => path.split('.'))
  env.registerFunction('hierarchy(string, string): list<string>', (path: string, delim: string) => path.split(delim))
  env.registerFunction('hierarchy(list): list<string>', (segments: unknown[]) => {
    if (!segments.every((s) => typeof s === 'string')) invalidArgument('hierarchy() expects a list of strings')
    return segments
  })
  const methods: Array<[string, (a: Hierarchy, b: Hierarchy) => unknown, string]> = [
    ['ancestorOf', ancestorOf, 'bool'],
    ['descendentOf', (a, b) => ancestorOf(b, a), 'bool'],
    ['immediateParentOf', immediateParentOf, 'bool'],
    ['immediateChildOf', (a, b) => immediateParentOf(b, a), 'bool'],
    ['siblingOf', siblingOf, 'bool'],
    ['overlaps', overlaps, 'bool'],
    ['commonAncestors', commonAncestors, 'list<string>'],
  ]
  for (const [name, fn, result] of methods) env.registerFunction(`list.${name}(list): ${result}`, fn)
}
