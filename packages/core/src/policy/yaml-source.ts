/**
 * YAML/JSON parsing with positions: every policy issue can name the line and column of the value
 * (or map key) it is about.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type YAMLError } from 'yaml'
import type { PolicyIssue } from '../errors.js'

/** A path inside a document: map keys and sequence indexes. */
export type DocPath = ReadonlyArray<string | number>

/** Which token of a path an issue points at; see {@link ParsedDocument.positionOf}. */
export type PositionMode = 'auto' | 'key' | 'value'

// Fields whose children are user-named entries (name → expression/value), located at the value.
const NAME_MAPS = new Set(['local', 'definitions'])

/** One parsed policy document and a way to locate any of its values. */
export interface ParsedDocument {
  /** The file, relative to the policy directory (or a caller-given name). */
  readonly file: string
  /** The document as plain JS (YAML merge keys applied). */
  readonly value: unknown
  /**
   * Line/column (1-based) where Cerbos reports a problem at `path`: `key` = the map key,
   * `value` = the value, `auto` = Cerbos' choice (field → its key; entry of a name→value map → the
   * value; list item → the value, or the first key's colon when the item is a mapping).
   */
  positionOf(path: DocPath, mode?: PositionMode): { line: number; column: number } | undefined
  /**
   * Line/column of a place inside the value at `path` as written (quotes and block indicators
   * included): `find` gets that source text and returns an index into it, or undefined.
   */
  positionWithin(path: DocPath, find: (source: string) => number | undefined): { line: number; column: number } | undefined
}

/** Formats a path the way Cerbos does: `$.resourcePolicy.rules[0].condition.match.expr`. */
export function formatDocPath(path: DocPath): string {
  let out = '$'
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`
    else if (/^[A-Za-z_$][\w$]*$/.test(seg) || seg === '') out += `.${seg}`
    else out += `.'${seg}'`
  }
  return out
}

/** Builds an issue located at `path` in `doc`. */
export function issueAt(doc: ParsedDocument, path: DocPath, message: string, key = false): PolicyIssue {
  const pos = doc.positionOf(path, key ? 'key' : 'auto')
  return { file: doc.file, line: pos?.line, column: pos?.column, path: formatDocPath(path), message }
}

function autoMode(path: DocPath): 'key' | 'value' | 'item' {
  const last = path[path.length - 1]
  if (last === undefined) return 'value'
  if (typeof last === 'number') return 'item'
  const parent = path[path.length - 2]
  if (parent === undefined) return 'key'
  if ((typeof parent === 'string' && NAME_MAPS.has(parent)) || (path.length === 2 && parent === 'variables')) return 'value'
  return 'key'
}

function nodeAt(doc: Document, path: DocPath, key: boolean): Node | undefined {
  let node: unknown = doc.contents
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && (isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(seg))
      if (!pair) return undefined
      if (last && key) return pair.key as Node
      node = pair.value
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg]
    } else {
      return undefined
    }
  }
  return (node ?? undefined) as Node | undefined
}

/** The nearest `[` or `{` before `offset` that is not closed before it. */
function unclosedOpener(text: string, offset: number, closer: ']' | '}'): number {
  const opener = closer === ']' ? '[' : '{'
  let depth = 0
  for (let i = offset - 1; i >= 0; i--) {
    if (text[i] === closer) depth++
    else if (text[i] === opener && depth-- === 0) return i
  }
  return -1
}

/**
 * Where a YAML syntax error really is. The parser reports some errors where it noticed them: an
 * unclosed quote or flow collection at the end of the text or the next line, an indentation error
 * at the start of the line; the author needs the opening quote or bracket, or the misplaced key.
 */
function errorOffset(text: string, err: YAMLError): number {
  const offset = err.pos[0]
  const quote = /^Missing closing (["'])quote/.exec(err.message)?.[1]
  if (quote !== undefined) {
    const at = text.lastIndexOf(quote, offset - 1)
    if (at >= 0) return at
  }
  const closer = /end with a ([\]}])/.exec(err.message)?.[1] as ']' | '}' | undefined
  if (closer !== undefined) {
    const at = unclosedOpener(text, offset, closer)
    if (at >= 0) return at
  }
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1
  if (!/^ *$/.test(text.slice(lineStart, offset))) return offset
  let first = offset
  while (text[first] === ' ') first++
  return first < text.length && text[first] !== '\n' && text[first] !== '\r' ? first : offset
}

/**
 * Parses every document in `text`. Syntax errors come back as issues; empty documents are dropped.
 *
 * @param file - name used in issues
 * @param text - YAML or JSON source
 */
export function parsePolicyText(file: string, text: string): { docs: ParsedDocument[]; issues: PolicyIssue[] } {
  const lineCounter = new LineCounter()
  const issues: PolicyIssue[] = []
  const docs: ParsedDocument[] = []
  const parsed = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true })
  const list = Array.isArray(parsed) ? parsed : []
  if (!Array.isArray(parsed)) {
    issues.push({ file, message: 'failed to parse document' })
  }
  for (const doc of list) {
    if (doc.errors.length > 0) {
      for (const err of doc.errors) {
        const pos = lineCounter.linePos(errorOffset(text, err))
        issues.push({ file, line: pos.line, column: pos.col, message: `invalid YAML: ${err.message.split('\n')[0]}` })
      }
      continue
    }
    if (doc.contents === null) continue
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown
    docs.push({
      file,
      value,
      positionOf(path, mode = 'auto') {
        const resolved = mode === 'auto' ? autoMode(path) : mode
        const node = nodeAt(doc, path, resolved === 'key')
        let offset = node?.range?.[0]
        if (resolved === 'item' && isMap(node)) {
          // A mapping inside a list is located at its first key's colon, as Cerbos reports it.
          const firstKey = node.items[0]?.key as Node | undefined
          const keyEnd = firstKey?.range?.[1]
          if (keyEnd !== undefined) {
            const colon = text.indexOf(':', keyEnd)
            if (colon >= 0) offset = colon
          }
        }
        if (offset === undefined) return undefined
        const pos = lineCounter.linePos(offset)
        return { line: pos.line, column: pos.col }
      },
      positionWithin(path, find) {
        const range = nodeAt(doc, path, false)?.range
        if (!range) return undefined
        const index = find(text.slice(range[0], range[1]))
        if (index === undefined) return undefined
        const pos = lineCounter.linePos(range[0] + index)
        return { line: pos.line, column: pos.col }
      },
    })
  }
  return { docs, issues }
}
