/**
 * Reads a YAML or JSON file (JSON is YAML) into plain values while keeping a way back to line and column,
 * so every problem in a suite or fixture file can be reported as `line:column path: message`.
 */
import { LineCounter, isMap, isNode, isScalar, parseDocument, type Document } from 'yaml'

/** A location inside a document: `tests[0].expected[1]` is `['tests', 0, 'expected', 1]`. */
export type DocPath = readonly (string | number)[]

/** One problem found in a document. */
export interface SourceIssue {
  path: string
  message: string
  line?: number | undefined
  column?: number | undefined
}

/** A parsed document. */
export interface SourceDocument {
  /** The plain value (merge keys `<<` resolved). */
  readonly value: unknown
  /** 1-based line and column of the node at `path` (of its key, with `key`), when it exists. */
  positionOf(path: DocPath, key?: boolean): { line: number; column: number } | undefined
}

/** Fields whose values are maps keyed by user-chosen names; their keys print quoted, as Cerbos prints them. */
const MAP_FIELDS = new Set(['actions', 'principals', 'resources', 'auxData', 'principalGroups', 'resourceGroups', 'jwts', 'globals', 'attr'])

/** Renders `tests[0].expected[0].actions["view:public"]` or `resources["doc"].kind` from a path. */
export function formatDocPath(path: DocPath): string {
  let out = ''
  path.forEach((part, i) => {
    const parent = path[i - 1]
    if (typeof part === 'number') out += `[${part}]`
    else if (typeof parent === 'string' && MAP_FIELDS.has(parent)) out += `[${JSON.stringify(part)}]`
    else out += out === '' ? part : `.${part}`
  })
  return out
}

/** Formats an issue as Cerbos prints it: `line:column path: message`. */
export function formatSourceIssue(issue: SourceIssue): string {
  const where = issue.line !== undefined ? `${issue.line}:${issue.column ?? 1} ` : ''
  return `${where}${issue.path === '' ? '' : `${issue.path}: `}${issue.message}`
}

/** The document could not be parsed at all. */
export class SourceSyntaxError extends Error {
  readonly issues: readonly SourceIssue[]
  constructor(issues: readonly SourceIssue[]) {
    super(issues.map(formatSourceIssue).join('\n'))
    this.issues = issues
    this.name = 'SourceSyntaxError'
  }
}

/**
 * Parses YAML or JSON text. Only mappings are accepted at the top level.
 *
 * @throws SourceSyntaxError when the text is not a YAML/JSON mapping.
 */
export function readSourceDocument(text: string): SourceDocument {
  const lineCounter = new LineCounter()
  const doc: Document = parseDocument(text, { lineCounter, merge: true, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    throw new SourceSyntaxError(
      doc.errors.map((err) => {
        const pos = lineCounter.linePos(err.pos[0])
        return { path: '', message: `invalid document: ${err.message.split('\n')[0] ?? 'syntax error'}`, line: pos.line, column: pos.col }
      }),
    )
  }
  const value: unknown = doc.toJS({ maxAliasCount: 10_000 })
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SourceSyntaxError([{ path: '', message: 'invalid document: contents are not valid YAML or JSON', line: 1, column: 1 }])
  }
  return {
    value,
    positionOf(path, key = false) {
      let node: unknown = path.length === 0 ? doc.contents : doc.getIn(path, true)
      if (key && path.length > 0) {
        const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true)
        const name = path[path.length - 1]
        if (isMap(parent)) node = parent.items.find((pair) => isScalar(pair.key) && pair.key.value === name)?.key
      }
      if (!isNode(node) || node.range === undefined || node.range === null) return undefined
      const pos = lineCounter.linePos(node.range[0])
      return { line: pos.line, column: pos.col }
    },
  }
}
