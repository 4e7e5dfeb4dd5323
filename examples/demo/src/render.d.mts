// Types of the demo's terminal rendering (render.mjs) for the TypeScript tests that import it.

export interface Palette {
  ok: (s: string) => string
  bad: (s: string) => string
  dim: (s: string) => string
  bold: (s: string) => string
}

export interface StepResult {
  caller: string
  onBehalfOf: string
  /** E.g. `GET review-service /reviews/rv-eng-1`. */
  request: string
  /** Expected HTTP status. */
  expected: number
  /** Status received. */
  status: number
  /** Deciding policy or reason code. */
  decidedBy: string
  passed: boolean
}

/** The subset of an audit record the call tree shows. */
export interface HopRecord {
  /** The deciding service's workload id. */
  service: string
  /** The caller. */
  workloadId?: string | undefined
  actorId?: string | undefined
  /** allowed | denied | unauthenticated | error */
  outcome: string
  policy?: string | undefined
  reason?: string | undefined
  resource?: { kind: string; id: string } | undefined
  action?: string | undefined
  /** On list routes: the query plan's kind. */
  planKind?: string | undefined
  traceId?: string | undefined
  transactionId?: string | undefined
  timestamp: string
}

/** Width on a terminal: characters without ANSI escape codes. */
export declare const visibleWidth: (text: string) => number
export declare function palette(color: boolean): Palette
/** Lays out rows under headers with every column padded to its widest cell. */
export declare function table(headers: string[], rows: string[][], colors: Palette): string
/** The scenario table: one row per request. */
export declare function resultsTable(results: StepResult[], colors: Palette): string
export declare function describeStatus(status: number): string
/**
 * Renders one request's hops as a tree: a hop is the child of the hop that decided for the
 * service that called it. Hops whose caller decided nothing in this request hang from the root.
 */
export declare function callTree(hops: HopRecord[], colors: Palette, name: (id: string | undefined) => string, root?: string): string[]
/** `KIND_CONDITIONAL` → `conditional`, and so on. */
export declare const planKindName: (kind: string) => string
