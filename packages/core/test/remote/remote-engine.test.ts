import { describe, expect, it } from 'vitest'
import { ConfigError, RequestError, UnavailableError } from '../../src/errors.js'
import {
  RemoteEngine,
  type CerbosCheckResourcesRequest,
  type CerbosCheckResourcesResponse,
  type CerbosClientLike,
} from '../../src/remote/index.js'
import type { CheckResourcesRequest } from '../../src/types.js'

const request: CheckResourcesRequest = {
  requestId: 'req-1',
  includeMeta: true,
  principal: { id: 'employee-service', roles: ['employee-service'], attr: { act: { user: { id: 'alice' } } } },
  resources: [
    { resource: { kind: 'review', id: 'r1', attr: { department: 'eng' } }, actions: ['read', 'write'] },
    { resource: { kind: 'review', id: 'r2', scope: 'acme' }, actions: ['read'] },
  ],
}

const answer: CerbosCheckResourcesResponse = {
  requestId: 'req-1',
  cerbosCallId: 'call',
  results: [
    {
      resource: { kind: 'review', id: 'r1', policyVersion: 'default', scope: '' },
      actions: { read: 'EFFECT_ALLOW', write: 'EFFECT_DENY' },
      validationErrors: [{ path: '/department', message: 'bad', source: 'SOURCE_RESOURCE' }],
      metadata: {
        actions: {
          read: { matchedPolicy: 'resource.review.vdefault', matchedScope: '' },
          write: { matchedPolicy: 'NO_MATCH', matchedScope: '' },
        },
        effectiveDerivedRoles: ['manager_in_department'],
      },
      outputs: [{ action: 'read', source: 'resource.review.vdefault#rule-001', value: { ok: true } }],
    },
    {
      resource: { kind: 'review', id: 'r2', policyVersion: 'default', scope: 'acme' },
      actions: { read: 'EFFECT_DENY' },
      validationErrors: [],
      metadata: undefined,
      outputs: [],
    },
  ],
}

function fakeClient(
  respond: (req: CerbosCheckResourcesRequest, signal?: AbortSignal) => Promise<CerbosCheckResourcesResponse>,
): CerbosClientLike & { calls: CerbosCheckResourcesRequest[] } {
  const calls: CerbosCheckResourcesRequest[] = []
  return {
    calls,
    checkResources(req, options) {
      calls.push(req)
      return respond(req, options?.signal)
    },
  }
}

const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('RemoteEngine', () => {
  it('validates its options', () => {
    expect(() => new RemoteEngine({})).toThrow(ConfigError)
    expect(() => new RemoteEngine({ address: 'x:1', timeoutMs: 0 })).toThrow(/remote.timeoutMs/)
    expect(() => new RemoteEngine({ address: 'x:1', auxData: 'keep' as 'drop' })).toThrow(/remote.auxData/)
    expect(new RemoteEngine({ address: 'x:1' }).kind).toBe('remote')
  })

  it('maps the request to the Cerbos SDK shape and the answer back', async () => {
    const client = fakeClient(() => Promise.resolve(answer))
    const engine = new RemoteEngine({ client })
    const response = await engine.checkResources(request)
    expect(client.calls[0]).toEqual({
      requestId: 'req-1',
      includeMetadata: true,
      principal: { id: 'employee-service', roles: ['employee-service'], attr: { act: { user: { id: 'alice' } } } },
      resources: [
        { actions: ['read', 'write'], resource: { kind: 'review', id: 'r1', attr: { department: 'eng' } } },
        { actions: ['read'], resource: { kind: 'review', id: 'r2', scope: 'acme' } },
      ],
    })
    expect(response).toEqual({
      requestId: 'req-1',
      results: [
        {
          resource: { kind: 'review', id: 'r1', policyVersion: 'default', scope: '' },
          actions: { read: 'EFFECT_ALLOW', write: 'EFFECT_DENY' },
          validationErrors: [{ path: '/department', message: 'bad', source: 'SOURCE_RESOURCE' }],
          meta: {
            actions: {
              read: { matchedPolicy: 'resource.review.vdefault', matchedScope: '' },
              write: { matchedPolicy: 'NO_MATCH', matchedScope: '' },
            },
            effectiveDerivedRoles: ['manager_in_department'],
          },
          outputs: [{ src: 'resource.review.vdefault#rule-001', val: { ok: true } }],
        },
        {
          resource: { kind: 'review', id: 'r2', policyVersion: 'default', scope: 'acme' },
          actions: { read: 'EFFECT_DENY' },
          validationErrors: [],
          outputs: [],
        },
      ],
    })
  })

  it('fails closed with pdp_timeout when the PDP does not answer in time, and aborts the call', async () => {
    let aborted = false
    const client = fakeClient(
      (_req, signal) =>
        new Promise(() => {
          signal?.addEventListener('abort', () => (aborted = true))
        }),
    )
    const error = await rejection(new RemoteEngine({ client, timeoutMs: 20 }).checkResources(request))
    expect(error).toBeInstanceOf(UnavailableError)
    expect((error as UnavailableError).reason).toBe('pdp_timeout')
    expect((error as UnavailableError).httpStatus).toBe(503)
    expect(aborted).toBe(true)
  })

  it('maps gRPC failures: unavailable → pdp_unavailable, invalid argument → request error', async () => {
    const unavailable = fakeClient(() => Promise.reject(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 })))
    const e1 = await rejection(new RemoteEngine({ client: unavailable }).checkResources(request))
    expect(e1).toBeInstanceOf(UnavailableError)
    expect((e1 as UnavailableError).reason).toBe('pdp_unavailable')

    const invalid = fakeClient(() => Promise.reject(Object.assign(new Error('3 INVALID_ARGUMENT'), { code: 3 })))
    const e2 = await rejection(new RemoteEngine({ client: invalid }).checkResources(request))
    expect(e2).toBeInstanceOf(RequestError)
    expect((e2 as RequestError).reason).toBe('pdp_rejected_request')

    const deadline = fakeClient(() => Promise.reject(Object.assign(new Error('4 DEADLINE_EXCEEDED'), { code: 4 })))
    const e3 = await rejection(new RemoteEngine({ client: deadline }).checkResources(request))
    expect((e3 as UnavailableError).reason).toBe('pdp_timeout')
  })

  it.each([
    ['a missing result', { ...answer, results: answer.results.slice(0, 1) }],
    [
      'a missing action',
      { ...answer, results: [{ ...answer.results[0]!, actions: { read: 'EFFECT_ALLOW' } }, answer.results[1]!] },
    ],
    [
      'an unknown effect',
      {
        ...answer,
        results: [{ ...answer.results[0]!, actions: { read: 'EFFECT_ALLOW', write: 'EFFECT_MAYBE' } }, answer.results[1]!],
      },
    ],
    ['results out of order', { ...answer, results: [answer.results[1]!, answer.results[0]!] }],
  ])('never allows on %s', async (_label, broken) => {
    const engine = new RemoteEngine({ client: fakeClient(() => Promise.resolve(broken)) })
    const error = await rejection(engine.checkResources(request))
    expect(error).toBeInstanceOf(UnavailableError)
    expect((error as UnavailableError).reason).toBe('pdp_invalid_response')
  })

  it('rejects auxData JWT claims by default and drops them when configured', async () => {
    const client = fakeClient(() => Promise.resolve(answer))
    const withJwt = { ...request, auxData: { jwt: { sub: 'alice' } } }
    const error = await rejection(new RemoteEngine({ client }).checkResources(withJwt))
    expect((error as RequestError).reason).toBe('remote_aux_data_unsupported')
    await new RemoteEngine({ client, auxData: 'drop' }).checkResources(withJwt)
    expect(client.calls.at(-1)).not.toHaveProperty('auxData')
  })

  it('fails closed after close() and does not close an injected client', async () => {
    let closed = false
    const client = { ...fakeClient(() => Promise.resolve(answer)), close: () => void (closed = true) }
    const engine = new RemoteEngine({ client })
    await engine.close()
    expect(closed).toBe(false)
    const error = await rejection(engine.checkResources(request))
    expect((error as UnavailableError).reason).toBe('pdp_unavailable')
  })
})
