/**
 * The size limits of one explanation: how many rules, roles and values it shows and how long a text
 * or value may be. Whatever is cut is counted, so the explanation says it was truncated.
 */

/** Limits of one explanation. */
export interface ExplainLimits {
  /** Resources explained. @defaultValue 10 */
  readonly resources: number
  /** Actions explained per resource. @defaultValue 10 */
  readonly actions: number
  /** Rules shown per action. @defaultValue 25 */
  readonly rules: number
  /** Derived roles shown per resource. @defaultValue 25 */
  readonly derivedRoles: number
  /** Characters of an expression, message or string value. @defaultValue 200 */
  readonly text: number
}

/** The limits an explanation keeps to unless told otherwise (`engine.explainSync(request, limits)`). */
export const DEFAULT_EXPLAIN_LIMITS: ExplainLimits = Object.freeze({ resources: 10, actions: 10, rules: 25, derivedRoles: 25, text: 200 })

/** Tracks what one explanation left out. */
export class ExplainBudget {
  truncated = false

  constructor(readonly limits: ExplainLimits) {}

  /** Notes that something was left out. */
  cut(): void {
    this.truncated = true
  }

  /** `text`, shortened to the limit. */
  text(text: string): string {
    if (text.length <= this.limits.text) return text
    this.truncated = true
    return `${text.slice(0, this.limits.text)}…`
  }

  /** A value as an explanation shows it: scalars as they are, anything else as JSON text within the limit. */
  value(value: unknown): unknown {
    if (value === undefined) return null
    if (value === null || typeof value === 'boolean' || typeof value === 'number') return value
    if (typeof value === 'string') return this.text(value)
    if (typeof value === 'bigint') return Number(value)
    if (value instanceof Date) return value.toISOString()
    let json: string
    try {
      // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition, @typescript-eslint/no-base-to-string -- JSON.stringify gives undefined for a function or symbol (lib.d.ts says string); those show as JavaScript prints them
      json = JSON.stringify(value instanceof Map ? Object.fromEntries(value) : value instanceof Set ? [...value] : value) ?? String(value)
    } catch {
      // eslint-disable-next-line @typescript-eslint/no-base-to-string -- what JSON cannot show is shown as JavaScript prints it
      json = String(value)
    }
    return json.length <= this.limits.text ? JSON.parse(json) as unknown : this.text(json)
  }
}
