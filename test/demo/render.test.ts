/** The demo's terminal rendering: aligned columns with or without colour, and call trees. */
import { describe, expect, it } from 'vitest'
import { callTree, palette, resultsTable, visibleWidth } from '../../examples/demo/src/render.mjs'

const results = [
  { caller: 'you', onBehalfOf: 'alice', request: 'GET gateway /api/reviews/rv-eng-1', expected: 200, status: 200, decidedBy: 'resource.review.vdefault', passed: true },
  { caller: 'orders', onBehalfOf: 'ed', request: 'POST payments /payments/p1/refund', expected: 403, status: 200, decidedBy: 'resource.payment.vdefault', passed: false },
]

describe('demo rendering', () => {
  it('aligns every column, with and without colours', () => {
    for (const color of [false, true]) {
      const lines = resultsTable(results, palette(color)).split('\n')
      const columnStarts = (line: string): number[] => {
        // eslint-disable-next-line no-control-regex -- strips ANSI colour codes
        const plain = line.replace(/\u001b\[[0-9;]*m/g, '')
        return [...plain.matchAll(/(?<= {2})\S/g)].map((m) => m.index)
      }
      const header = columnStarts(lines[0] ?? '')
      expect(header.length).toBe(6)
      for (const line of [lines[2], lines[3]]) expect(columnStarts(line ?? '').slice(0, 6)).toEqual(header)
      expect(lines.join('\n').includes('\u001b[')).toBe(color)
    }
  })

  it('marks failures and counts visible width without escape codes', () => {
    const text = resultsTable(results, palette(false))
    expect(text).toContain('✘ 200 allow')
    expect(text).toContain('✔ 200 allow')
    expect(visibleWidth('\u001b[31mabc\u001b[0m')).toBe(3)
  })

  it('hangs each hop under the hop of the service that called it', () => {
    const hops = [
      { service: 'svc:review', workloadId: 'svc:employee', actorId: 'alice', outcome: 'allowed', policy: 'resource.review.vdefault', resource: { kind: 'review', id: 'r1' }, action: 'read', timestamp: '2026-01-01T00:00:00.003Z' },
      { service: 'svc:gateway', actorId: 'alice', outcome: 'allowed', timestamp: '2026-01-01T00:00:00.001Z', workloadId: 'user:alice' },
      { service: 'svc:employee', workloadId: 'svc:gateway', actorId: 'alice', outcome: 'allowed', policy: 'resource.employee_review.vdefault', resource: { kind: 'employee_review', id: 'r1' }, action: 'read', timestamp: '2026-01-01T00:00:00.002Z' },
    ]
    const lines = callTree(hops, palette(false), (id: string | undefined) => (id ?? '').replace(/^\w+:/, ''))
    expect(lines).toEqual([
      '  alice → gateway for alice: authenticate ALLOW',
      '  └─ gateway → employee for alice: read employee_review/r1 ALLOW (resource.employee_review.vdefault)',
      '     └─ employee → review for alice: read review/r1 ALLOW (resource.review.vdefault)',
    ])
  })
})

describe('call tree with an edge root', () => {
  it('hangs the first hops under the root line', () => {
    const hops = [
      { service: 'svc:employee', workloadId: 'svc:gateway', actorId: 'alice', outcome: 'allowed', policy: 'p1', resource: { kind: 'employee_review', id: 'r1' }, action: 'read', timestamp: '2026-01-01T00:00:00.002Z' },
      { service: 'svc:review', workloadId: 'svc:employee', actorId: 'alice', outcome: 'denied', policy: 'p2', resource: { kind: 'review', id: 'r1' }, action: 'read', timestamp: '2026-01-01T00:00:00.003Z' },
    ]
    const lines = callTree(hops, palette(false), (id: string | undefined) => (id ?? '').replace(/^\w+:/, ''), 'alice → gateway: verified')
    expect(lines).toEqual([
      '  alice → gateway: verified',
      '  └─ gateway → employee for alice: read employee_review/r1 ALLOW (p1)',
      '     └─ employee → review for alice: read review/r1 DENY (p2)',
    ])
  })
})
