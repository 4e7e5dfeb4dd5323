import { context, ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import { Agent, interceptors, request, type Dispatcher } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { createMeshguardFetch, meshguardInterceptor, type MeshguardClientOptions } from '../src/index.js'
import { RecordingIdentity } from './support/fake-identity.js'
import { TestContextManager } from './support/otel-context.js'
import { redirectTo, startRecordingServer, type RecordingServer } from './support/recording-server.js'

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const SPAN_ID = '00f067aa0ba902b7'
const inSpan = trace.setSpanContext(ROOT_CONTEXT, { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED })

let mapped: RecordingServer
let unmapped: RecordingServer
const agents: Agent[] = []

beforeAll(async () => {
  // A context manager is process-global in the OTel API; vitest runs each file in its own process.
  context.setGlobalContextManager(new TestContextManager())
  ;[mapped, unmapped] = await Promise.all([startRecordingServer(), startRecordingServer()])
})
afterAll(async () => {
  context.disable()
  await Promise.all([mapped.close(), unmapped.close(), ...agents.map(async (a) => a.close())])
})

function dispatcherWith(extra: Partial<MeshguardClientOptions>): Dispatcher {
  const agent = new Agent()
  agents.push(agent)
  return agent.compose(
    meshguardInterceptor({ identity: new RecordingIdentity(), destinations: { [mapped.origin]: 'spiffe://acme/b' }, ...extra }),
    interceptors.redirect({ maxRedirections: 2 }),
  )
}

async function getIn(ctx: typeof inSpan, dispatcher: Dispatcher, url: string): Promise<void> {
  await context.with(ctx, async () => {
    const res = await request(url, { dispatcher })
    await res.body.dump()
  })
}

describe('trace context propagation', () => {
  const propagator = new W3CTraceContextPropagator()

  it('sends the active trace context to a mapped callee as traceparent', async () => {
    await getIn(inSpan, dispatcherWith({ propagator }), `${mapped.origin}/a`)
    expect(mapped.requests.at(-1)?.headers.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`)
  })

  it('keeps it off unmapped origins unless asked', async () => {
    await getIn(inSpan, dispatcherWith({ propagator }), `${unmapped.origin}/a`)
    expect(unmapped.requests.at(-1)?.headers.traceparent).toBeUndefined()
    await getIn(inSpan, dispatcherWith({ propagator, propagateTraceToUnmapped: true }), `${unmapped.origin}/b`)
    expect(unmapped.requests.at(-1)?.headers.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`)
  })

  it('carries the trace context of the original call across a redirect hop', async () => {
    mapped.respond((req, res) => (req.url === '/start' ? redirectTo(`${mapped.origin}/final`)(req, res) : res.writeHead(200).end()))
    await getIn(inSpan, dispatcherWith({ propagator }), `${mapped.origin}/start`)
    expect(mapped.requests.at(-1)?.path).toBe('/final')
    expect(mapped.requests.at(-1)?.headers.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`)
    mapped.respond((_req, res) => res.writeHead(200).end())
  })

  it('goes through the global propagation API when no propagator is given (a no-op without an SDK)', async () => {
    await getIn(inSpan, dispatcherWith({}), `${mapped.origin}/no-sdk`)
    expect(mapped.requests.at(-1)?.path).toBe('/no-sdk')
    expect(mapped.requests.at(-1)?.headers.traceparent).toBeUndefined()
  })

  it('propagates through createMeshguardFetch as well', async () => {
    const fetch = createMeshguardFetch({ identity: new RecordingIdentity(), destinations: { [mapped.origin]: 'aud' }, propagator })
    try {
      await context.with(inSpan, async () => (await fetch(`${mapped.origin}/fetch`)).arrayBuffer())
      expect(mapped.requests.at(-1)?.headers.traceparent).toBe(`00-${TRACE_ID}-${SPAN_ID}-01`)
    } finally {
      await fetch.close()
    }
  })
})
