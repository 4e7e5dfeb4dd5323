/**
 * Terminal output of the demo: an aligned results table and per-request call trees. Colours only
 * when asked (the runner asks when stdout is a TTY and NO_COLOR is unset).
 */

// eslint-disable-next-line no-control-regex -- matching the ESC of ANSI colour codes is the point
const ANSI = /\u001b\[[0-9;]*m/g

/** @param {string} text */
export const visibleWidth = (text) => [...text.replace(ANSI, '')].length

/**
 * @typedef {object} Palette
 * @property {(s: string) => string} ok
 * @property {(s: string) => string} bad
 * @property {(s: string) => string} dim
 * @property {(s: string) => string} bold
 */

/** @param {boolean} color @returns {Palette} */
export function palette(color) {
  const wrap = (/** @type {number} */ code) => (/** @type {string} */ s) => (color ? `\u001b[${code}m${s}\u001b[0m` : s)
  return { ok: wrap(32), bad: wrap(31), dim: wrap(2), bold: wrap(1) }
}

/**
 * Lays out rows under headers with every column padded to its widest cell.
 * @param {string[]} headers
 * @param {string[][]} rows
 * @param {Palette} colors
 * @returns {string}
 */
export function table(headers, rows, colors) {
  const widths = headers.map((h, i) => Math.max(visibleWidth(h), ...rows.map((r) => visibleWidth(r[i] ?? ''))))
  const line = (/** @type {string[]} */ cells) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleWidth(cell))))
      .join('  ')
      .trimEnd()
  const rule = widths.map((w) => '─'.repeat(w)).join('  ')
  return [colors.bold(line(headers)), colors.dim(rule), ...rows.map(line)].join('\n')
}

/**
 * @typedef {object} StepResult
 * @property {string} caller
 * @property {string} onBehalfOf
 * @property {string} request     e.g. `GET review-service /reviews/rv-eng-1`
 * @property {number} expected    expected HTTP status
 * @property {number} status      status received
 * @property {string} decidedBy   deciding policy or reason code
 * @property {boolean} passed
 */

/**
 * The scenario table: one row per request.
 * @param {StepResult[]} results
 * @param {Palette} colors
 */
export function resultsTable(results, colors) {
  const rows = results.map((r, i) => [
    String(i + 1),
    r.caller,
    r.onBehalfOf,
    r.request,
    describeStatus(r.expected),
    (r.passed ? colors.ok : colors.bad)(`${r.passed ? '✔' : '✘'} ${describeStatus(r.status)}`),
    r.decidedBy,
  ])
  return table(['#', 'caller', 'on behalf of', 'request', 'expected', 'result', 'decided by'], rows, colors)
}

/** @param {number} status */
export function describeStatus(status) {
  if (status >= 200 && status < 300) return `${status} allow`
  if (status === 401) return '401 reject'
  if (status === 403) return '403 deny'
  return String(status)
}

/**
 * The subset of an audit record the call tree shows.
 * @typedef {object} HopRecord
 * @property {string} service       the deciding service's workload id
 * @property {string} [workloadId]  the caller
 * @property {string} [actorId]
 * @property {string} outcome       allowed | denied | unauthenticated | error
 * @property {string} [policy]
 * @property {string} [reason]
 * @property {{ kind: string, id: string }} [resource]
 * @property {string} [action]
 * @property {string} [planKind]  on list routes: the query plan's kind
 * @property {string} [traceId]
 * @property {string} [transactionId]
 * @property {string} timestamp
 */

/**
 * Renders one request's hops as a tree: a hop is the child of the hop that decided for the
 * service that called it. Hops whose caller decided nothing in this request hang from the root.
 * @param {HopRecord[]} hops  the audit records of one request, any order
 * @param {Palette} colors
 * @param {(id: string | undefined) => string} name  short display name of a workload or actor id
 * @param {string} [root]  a first line the hops hang from (e.g. the edge's own check)
 * @returns {string[]} lines
 */
export function callTree(hops, colors, name, root) {
  const ordered = [...hops].sort((a, b) => a.timestamp.localeCompare(b.timestamp))
  /** @type {Map<HopRecord, HopRecord[]>} */
  const children = new Map(ordered.map((h) => [h, []]))
  /** @type {HopRecord[]} */
  const roots = []
  for (const hop of ordered) {
    const parent = ordered.find((p) => p !== hop && p.service === hop.workloadId && p.timestamp <= hop.timestamp)
    if (parent) children.get(parent)?.push(hop)
    else roots.push(hop)
  }
  /** @type {string[]} */
  const lines = []
  const visit = (/** @type {HopRecord} */ hop, /** @type {string} */ prefix, /** @type {boolean} */ last, /** @type {boolean} */ top) => {
    const branch = top ? '' : last ? '└─ ' : '├─ '
    lines.push(`${prefix}${branch}${describeHop(hop, colors, name)}`)
    const kids = children.get(hop) ?? []
    const nextPrefix = top ? prefix : prefix + (last ? '   ' : '│  ')
    kids.forEach((kid, i) => visit(kid, nextPrefix, i === kids.length - 1, false))
  }
  if (root === undefined) roots.forEach((hop) => visit(hop, '  ', true, true))
  else {
    lines.push(`  ${root}`)
    roots.forEach((hop, i) => visit(hop, '  ', i === roots.length - 1, false))
  }
  return lines
}

/**
 * `KIND_CONDITIONAL` → `conditional`, and so on.
 * @param {string} kind
 */
export const planKindName = (kind) => kind.replace(/^KIND_/, '').toLowerCase().replaceAll('_', ' ')

/**
 * @param {HopRecord} hop
 * @param {Palette} colors
 * @param {(id: string | undefined) => string} name
 */
function describeHop(hop, colors, name) {
  const verdict =
    hop.outcome === 'allowed' ? colors.ok('ALLOW') : hop.outcome === 'denied' ? colors.bad('DENY') : colors.bad(hop.outcome.toUpperCase())
  // A list route plans for the whole kind: name the plan's kind rather than a resource id.
  const what = hop.planKind && hop.resource
    ? `plan ${hop.action ?? '?'} ${hop.resource.kind} → ${planKindName(hop.planKind)}`
    : hop.resource ? `${hop.action ?? '?'} ${hop.resource.kind}/${hop.resource.id}` : 'authenticate'
  const actor = hop.actorId ? ` for ${name(hop.actorId)}` : ''
  const why = hop.policy ?? hop.reason ?? ''
  return `${name(hop.workloadId) || '(unverified caller)'} → ${name(hop.service)}${actor}: ${what} ${verdict}${why ? colors.dim(` (${why})`) : ''}`
}
