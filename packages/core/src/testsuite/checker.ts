/**
 * A small strict reader for suite and fixture documents: it turns untrusted plain values into typed
 * values, and collects every problem (unknown fields, wrong types, missing required fields) with its
 * position instead of stopping at the first.
 */
import type { DocPath, SourceDocument, SourceIssue } from './source.js'
import { formatDocPath } from './source.js'

/** A plain JSON-like object. */
export type PlainObject = Record<string, unknown>

/** Collects issues for one document. */
export class DocumentChecker {
  readonly issues: SourceIssue[] = []
  private readonly doc: SourceDocument | undefined

  constructor(doc: SourceDocument | undefined) {
    this.doc = doc
  }

  /** Records a problem at `path`. */
  report(path: DocPath, message: string, atKey = false): void {
    const pos = this.doc?.positionOf(path, atKey)
    // A problem with a key itself (unknown field) is located by position only, as Cerbos prints it.
    this.issues.push({ path: atKey && pos !== undefined ? '' : formatDocPath(path), message, line: pos?.line, column: pos?.column })
  }

  /** An object whose keys are all in `allowed`; anything else is reported and treated as absent. */
  object(value: unknown, path: DocPath, allowed: readonly string[]): PlainObject | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      this.report(path, 'expected an object')
      return undefined
    }
    const obj = value as PlainObject
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) this.report([...path, key], `unknown field ${JSON.stringify(key)}`, true)
    }
    return obj
  }

  /** An object with arbitrary keys (a map such as `principals` or `attr`). */
  map(value: unknown, path: DocPath): PlainObject | undefined {
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'object' || Array.isArray(value)) {
      this.report(path, 'expected a map')
      return undefined
    }
    return value as PlainObject
  }

  /** A string; `required` reports absence and empty strings. */
  string(value: unknown, path: DocPath, required = false): string | undefined {
    if (value === undefined || value === null || value === '') {
      if (required) this.report(path, 'value is required')
      return undefined
    }
    if (typeof value === 'number' || typeof value === 'boolean') return String(value)
    if (typeof value !== 'string') {
      this.report(path, 'expected a string')
      return undefined
    }
    return value
  }

  /** A boolean (absent = false). */
  boolean(value: unknown, path: DocPath): boolean {
    if (value === undefined || value === null) return false
    if (typeof value !== 'boolean') {
      this.report(path, 'expected a boolean')
      return false
    }
    return value
  }

  /** A list of non-empty strings; `required` reports an absent or empty list. */
  strings(value: unknown, path: DocPath, required = false): string[] {
    const out: string[] = []
    this.list(value, path, required).forEach((item, i) => {
      const s = this.string(item, [...path, i], true)
      if (s !== undefined) out.push(s)
    })
    return out
  }

  /** A list of anything, for lists of objects. */
  list(value: unknown, path: DocPath, required = false): unknown[] {
    if (value === undefined || value === null) {
      if (required) this.report(path, 'value is required')
      return []
    }
    if (!Array.isArray(value)) {
      this.report(path, 'expected a list')
      return []
    }
    if (required && value.length === 0) this.report(path, 'value is required')
    return value
  }
}
