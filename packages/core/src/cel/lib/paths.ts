import type { Environment } from '@marcbachmann/cel-js'
import { ConditionError } from '../../errors.js'

/**
 * Cerbos's path functions (`basePath`, `dirPath`, `extPath`, `joinPath`, `relPath`, `volumeName`,
 * `pathHasPrefix`, `pathMatch`, `pathMatchAnyOf`). Cerbos accepts UNIX and Windows paths: a
 * Windows path (it contains `\`) is converted to a slash path (`C:\x` → `/C:/x`, `\\host\share` →
 * `/host/share`), processed with Go's `path/filepath` rules, and converted back where the result
 * is a path. The Go algorithms (Clean, Base, Dir, Ext, Rel, Match) are reimplemented here.
 */

const enum Kind {
  Unknown,
  Drive,
  UNC,
}

interface Encoded {
  value: string
  kind: Kind
  win32: boolean
  root: boolean
}

const toSlash = (p: string): string => p.replaceAll('\\', '/')
const toBackslash = (p: string): string => p.replaceAll('/', '\\')
const isUNC = (p: string): boolean => p.startsWith('\\\\')
const isDrive = (p: string): boolean => p.length > 1 && p[1] === ':' && /[A-Za-z]/.test(p[0]!)

/** Go `filepath.Clean` (slash separator). */
export function clean(path: string): string {
  if (path === '') return '.'
  const rooted = path.startsWith('/')
  const out: string[] = []
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
    } else {
      out.push(part)
    }
  }
  const joined = (rooted ? '/' : '') + out.join('/')
  return joined === '' ? (rooted ? '/' : '.') : joined
}

function base(path: string): string {
  if (path === '') return '.'
  const trimmed = path.replace(/\/+$/, '')
  if (trimmed === '') return '/'
  return trimmed.slice(trimmed.lastIndexOf('/') + 1)
}

function dir(path: string): string {
  return clean(path.slice(0, path.lastIndexOf('/') + 1))
}

function ext(path: string): string {
  for (let i = path.length - 1; i >= 0 && path[i] !== '/'; i--) if (path[i] === '.') return path.slice(i)
  return ''
}

function encode(path: string): Encoded {
  const win32 = path.includes('\\')
  let value: string
  let kind = Kind.Unknown
  let root = false
  if (isUNC(path)) {
    kind = Kind.UNC
    value = toSlash(path)
    root = path.slice(2).split('\\').length === 2
  } else if (isDrive(path)) {
    kind = Kind.Drive
    value = toSlash(`\\${path}`)
    root = path.length === 2 || path.length === 3
  } else {
    value = win32 ? toSlash(path) : path
    root = !win32 && value === '/'
  }
  return { value: clean(value), kind, win32, root }
}

function decode(e: Encoded): string {
  if (e.kind === Kind.UNC) return `\\${toBackslash(e.value)}`
  if (e.kind === Kind.Drive) return toBackslash(e.value).replace(/^\\/, '')
  if (e.win32) return toBackslash(e.value)
  return e.value
}

function dirPath(path: string): string {
  const e = encode(path)
  if (e.kind === Kind.UNC || e.kind === Kind.Drive) {
    if (e.root) return e.kind === Kind.Drive ? `${decode(e)}\\` : decode(e)
    return decode({ ...e, value: e.value.slice(0, e.value.lastIndexOf('/')) })
  }
  if (e.win32) return decode({ ...e, value: e.value.slice(0, e.value.lastIndexOf('/')) })
  return decode({ ...e, value: dir(e.value) })
}

function joinPath(paths: readonly unknown[]): string {
  const parts = paths.map((p) => {
    if (typeof p !== 'string') throw new ConditionError('joinPath() expects a list of strings', { reason: 'invalid_argument' })
    return p
  })
  if (parts.length === 0) return ''
  if (parts.length === 1) return parts[0]!
  const result = encode(parts[0]!)
  for (const part of parts.slice(1)) {
    const joined = [result.value, encode(part).value].filter((p) => p !== '')
    result.value = joined.length === 0 ? '' : clean(joined.join('/'))
  }
  return decode(result)
}

function volumeName(path: string): string {
  if (isUNC(path)) {
    const subs = path.slice(2).split('\\')
    if (subs.length > 1 && subs[0] !== '' && subs[1] !== '') return `\\\\${subs[0]}\\${subs[1]}`
  } else if (isDrive(path)) {
    return path.slice(0, 2)
  }
  return ''
}

/** Go `filepath.Rel` on slash paths; throws with Go's message when there is no relative path. */
function rel(basePath: string, targetPath: string): string {
  const cantMake = (): never => {
    throw new Error(`Rel: can't make ${targetPath} relative to ${basePath}`)
  }
  let b = clean(basePath)
  const t = clean(targetPath)
  if (t === b) return '.'
  if (b === '.') b = ''
  if (b.startsWith('/') !== t.startsWith('/')) cantMake()
  let b0 = 0
  let bi = 0
  let t0 = 0
  let ti = 0
  for (;;) {
    while (bi < b.length && b[bi] !== '/') bi++
    while (ti < t.length && t[ti] !== '/') ti++
    if (t.slice(t0, ti) !== b.slice(b0, bi)) break
    if (bi < b.length) bi++
    if (ti < t.length) ti++
    b0 = bi
    t0 = ti
  }
  if (b.slice(b0, bi) === '..') cantMake()
  if (b0 !== b.length) {
    // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points are the units here, as in Go
    const seps = [...b.slice(b0)].filter((c) => c === '/').length
    return `..${'/..'.repeat(seps)}${t0 !== t.length ? `/${t.slice(t0)}` : ''}`
  }
  return t.slice(t0)
}

function relPath(basePath: string, targetPath: string): string {
  const b = encode(basePath)
  const t = encode(targetPath)
  let value: string
  try {
    value = clean(rel(b.value, t.value))
  } catch (err) {
    throw new ConditionError(`failed to determine relative path of ${targetPath}: ${(err as Error).message}`, {
      reason: 'invalid_argument',
    })
  }
  if (value === '.' || value === '..') return value
  if (t.kind === Kind.UNC && !value.startsWith('\\')) return toBackslash(value)
  return decode({ ...t, value })
}

class BadPattern extends Error {}

/** Reads one (possibly escaped) character of a `[...]` class. */
function getEsc(chunk: string[], at: number): [string, number] {
  let i = at
  if (i >= chunk.length || chunk[i] === '-' || chunk[i] === ']') throw new BadPattern()
  if (chunk[i] === '\\') {
    i++
    if (i >= chunk.length) throw new BadPattern()
  }
  const ch = chunk[i]!
  if (i + 1 >= chunk.length) throw new BadPattern()
  return [ch, i + 1]
}

/** Go `matchChunk`: the rest of `s` after `chunk` matched its start, or undefined. */
function matchChunk(chunk: string[], s: string[]): string[] | undefined {
  let failed = false
  let c = 0
  let i = 0
  while (c < chunk.length) {
    if (!failed && i >= s.length) failed = true
    const ch = chunk[c]!
    if (ch === '[') {
      const r = failed ? '' : s[i++]!
      c++
      let negated = false
      if (chunk[c] === '^') {
        negated = true
        c++
      }
      let match = false
      let ranges = 0
      for (;;) {
        if (chunk[c] === ']' && ranges > 0) {
          c++
          break
        }
        const [lo, afterLo] = getEsc(chunk, c)
        c = afterLo
        let hi = lo
        if (chunk[c] === '-') {
          const [h, afterHi] = getEsc(chunk, c + 1)
          hi = h
          c = afterHi
        }
        if (lo <= r && r <= hi) match = true
        ranges++
      }
      if (match === negated) failed = true
    } else if (ch === '?') {
      if (!failed) {
        if (s[i] === '/') failed = true
        i++
      }
      c++
    } else {
      let literal = ch
      if (ch === '\\') {
        c++
        if (c >= chunk.length) throw new BadPattern()
        literal = chunk[c]!
      }
      if (!failed) {
        if (literal !== s[i]) failed = true
        i++
      }
      c++
    }
  }
  return failed ? undefined : s.slice(i)
}

/** Go `scanChunk`: leading stars, then the chunk up to the next unbracketed star. */
function scanChunk(pattern: string[]): { star: boolean; chunk: string[]; rest: string[] } {
  let p = 0
  let star = false
  while (pattern[p] === '*') {
    p++
    star = true
  }
  let inRange = false
  let i = p
  for (; i < pattern.length; i++) {
    const ch = pattern[i]
    if (ch === '\\') {
      if (i + 1 < pattern.length) i++
    } else if (ch === '[') inRange = true
    else if (ch === ']') inRange = false
    else if (ch === '*' && !inRange) break
  }
  return { star, chunk: pattern.slice(p, i), rest: pattern.slice(i) }
}

/** Go `filepath.Match` on slash paths. */
export function globMatch(patternText: string, nameText: string): boolean {
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points are the units here, as in Go
  let pattern = [...patternText]
  // eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points are the units here, as in Go
  let name = [...nameText]
  outer: while (pattern.length > 0) {
    const { star, chunk, rest } = scanChunk(pattern)
    pattern = rest
    if (star && chunk.length === 0) return !name.includes('/')
    const t = matchChunk(chunk, name)
    if (t !== undefined && (t.length === 0 || pattern.length > 0)) {
      name = t
      continue
    }
    if (star) {
      for (let i = 0; i < name.length && name[i] !== '/'; i++) {
        const t2 = matchChunk(chunk, name.slice(i + 1))
        if (t2 !== undefined) {
          if (pattern.length === 0 && t2.length > 0) continue
          name = t2
          continue outer
        }
      }
    }
    // Report a syntax error in the rest of the pattern even when the match already failed.
    while (pattern.length > 0) {
      const next = scanChunk(pattern)
      pattern = next.rest
      matchChunk(next.chunk, [])
    }
    return false
  }
  return name.length === 0
}

function pathMatch(path: string, pattern: string): boolean {
  try {
    return globMatch(encode(pattern).value, encode(path).value)
  } catch (err) {
    if (!(err instanceof BadPattern)) throw err
    throw new ConditionError(`failed to match pattern ${JSON.stringify(pattern)} on path ${JSON.stringify(path)}: syntax error in pattern`, {
      reason: 'invalid_argument',
    })
  }
}

/**
 * Whether `path` lies under `prefix`, as Cerbos decides it (checked with `cerbos repl`): through the
 * relative path from prefix to path, which must not climb (`..`); when they are the same path,
 * only identical text counts (`/a/b/` is not under `/a/b`). A path that cannot be made relative
 * (absolute vs relative) is an error.
 */
function pathHasPrefix(path: string, prefix: string): boolean {
  const relative = relPath(prefix, path)
  if (relative === '.') return path === prefix
  return !relative.startsWith('..')
}

/** Registers the path functions. */
export function registerPaths(env: Environment): void {
  env.registerFunction('basePath(string): string', (p: string) => base(encode(p).value))
  env.registerFunction('dirPath(string): string', dirPath)
  env.registerFunction('extPath(string): string', (p: string) => ext(encode(p).value))
  env.registerFunction('joinPath(list): string', joinPath)
  env.registerFunction('relPath(string, string): string', relPath)
  env.registerFunction('volumeName(string): string', volumeName)
  env.registerFunction('pathHasPrefix(string, string): bool', pathHasPrefix)
  env.registerFunction('string.pathHasPrefix(string): bool', pathHasPrefix)
  env.registerFunction('pathMatch(string, string): bool', pathMatch)
  env.registerFunction('string.pathMatch(string): bool', pathMatch)
  const anyOf = (path: string, patterns: unknown[]): boolean =>
    patterns.some((pattern) => {
      if (typeof pattern !== 'string') throw new ConditionError('pathMatchAnyOf() expects a list of strings', { reason: 'invalid_argument' })
      return pathMatch(path, pattern)
    })
  env.registerFunction('pathMatchAnyOf(string, list): bool', anyOf)
  env.registerFunction('string.pathMatchAnyOf(list): bool', anyOf)
}
