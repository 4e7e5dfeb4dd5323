/**
 * CheckResources requests over the sample policies in examples/policies, with the effects Cerbos
 * gives (the sample policies' own test suites say the same). Shared by the remote-engine tests.
 */
import type { CheckResourcesRequest, Effect, Principal } from '@meshguard/core'

const workload = (name: string, role: string, user: Record<string, unknown>): Principal => ({
  id: `spiffe://meshguard.example/ns/x/sa/${name}`,
  roles: [role],
  attr: { act: { user } },
})

const alice = { id: 'alice', roles: ['employee', 'manager'], attr: { department: 'engineering' } }
const hana = { id: 'hana', roles: ['employee', 'hr'], attr: { department: 'people' } }
const ed = { id: 'ed', roles: ['employee'], attr: { department: 'engineering' } }
const agent = { id: 'hr-reporting-agent', roles: ['ai_agent'], attr: { type: 'AI_AGENT' } }

const engineeringReview = { kind: 'review', id: 'rv-eng-1', attr: { department: 'engineering', employee: 'ed' } }
const salesReview = { kind: 'review', id: 'rv-sales-1', attr: { department: 'sales', employee: 'sam' } }
const hrReport = { kind: 'hr_report', id: 'reviews-2026', attr: {} }
const paymentForEd = { kind: 'payment', id: 'pay-1', attr: { customer: 'ed', amount: 42 } }

/** One sample check and the effects expected per resource. */
export interface SampleCheck {
  name: string
  request: CheckResourcesRequest
  expected: Record<string, Effect>[]
}

const ALLOW = 'EFFECT_ALLOW'
const DENY = 'EFFECT_DENY'

/** Sample checks covering derived roles, conditions on the acting user, the AI agent limit and plain roles. */
export const SAMPLE_CHECKS: SampleCheck[] = [
  {
    name: 'a manager reads reviews of their own department only',
    request: {
      requestId: 'manager',
      principal: workload('employee-service', 'employee-service', alice),
      resources: [
        { resource: engineeringReview, actions: ['read'] },
        { resource: salesReview, actions: ['read'] },
      ],
    },
    expected: [{ read: ALLOW }, { read: DENY }],
  },
  {
    name: 'HR reads any review',
    request: {
      requestId: 'hr',
      principal: workload('employee-service', 'employee-service', hana),
      resources: [
        { resource: engineeringReview, actions: ['read'] },
        { resource: salesReview, actions: ['read'] },
      ],
    },
    expected: [{ read: ALLOW }, { read: ALLOW }],
  },
  {
    name: 'another workload is denied even for a manager',
    request: {
      requestId: 'gateway',
      principal: workload('gateway', 'gateway', alice),
      resources: [{ resource: engineeringReview, actions: ['read'] }],
    },
    expected: [{ read: DENY }],
  },
  {
    name: 'the AI agent reads aggregates and nothing else',
    request: {
      requestId: 'agent',
      principal: workload('ai-reporting-agent', 'ai-reporting-agent', agent),
      resources: [
        { resource: hrReport, actions: ['read:aggregate', 'read'] },
        { resource: engineeringReview, actions: ['read'] },
      ],
    },
    expected: [{ 'read:aggregate': ALLOW, read: DENY }, { read: DENY }],
  },
  {
    name: 'orders charges its own user and may not refund',
    request: {
      requestId: 'orders',
      principal: workload('orders', 'orders', ed),
      resources: [{ resource: paymentForEd, actions: ['charge', 'refund'] }],
    },
    expected: [{ charge: ALLOW, refund: DENY }],
  },
]

const PRINCIPALS: Principal[] = [
  workload('employee-service', 'employee-service', alice),
  workload('employee-service', 'employee-service', hana),
  workload('employee-service', 'employee-service', ed),
  workload('gateway', 'gateway', alice),
  workload('gateway', 'gateway', agent),
  workload('ai-reporting-agent', 'ai-reporting-agent', agent),
  workload('ai-reporting-agent', 'ai-reporting-agent', alice),
  workload('orders', 'orders', ed),
  workload('billing', 'billing', ed),
]

const RESOURCES = [
  engineeringReview,
  salesReview,
  hrReport,
  paymentForEd,
  { kind: 'payment', id: 'pay-2', attr: { customer: 'alice', amount: 42 } },
  { kind: 'employee_review', id: 'rv-eng-1', attr: {} },
  { kind: 'hr_summary', id: 'reviews-2026', attr: {} },
  { kind: 'order', id: 'new', attr: {} },
  { kind: 'unknown_kind', id: 'x', attr: {} },
]

const ACTIONS = ['read', 'read:aggregate', 'charge', 'refund', 'create', 'cancel', 'run', 'delete']

/** Every sample principal against every sample resource and action, with meta: for differential checks. */
export const CROSS_PRODUCT_CHECKS: CheckResourcesRequest[] = PRINCIPALS.map((principal, index) => ({
  requestId: `cross-${index}`,
  includeMeta: true,
  principal,
  resources: RESOURCES.map((resource) => ({ resource, actions: ACTIONS })),
}))
