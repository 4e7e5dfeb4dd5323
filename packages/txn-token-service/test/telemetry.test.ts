import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTelemetry } from '@meshguard/core'
import { ATTR_AUTHZ_ACTION, ATTR_AUTHZ_DECISION, ATTR_AUTHZ_REASON, ATTR_AUTHZ_TRANSACTION_ID, ATTR_AUTHZ_WORKLOAD_ID } from '@meshguard/core/telemetry'
import { serviceId } from '../../../test/support/identity.js'
import { claimsOf, startTts, type TtsFixture } from './support/tts.js'

describe('spans', () => {
  const spans = new InMemorySpanExporter()
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts({ telemetry: createTelemetry({ tracerProvider }) })
  })
  afterAll(async () => {
    await tts.close()
    await tracerProvider.shutdown()
  })

  it('traces every issuance and refusal as "authorize txn_token"', async () => {
    const { body } = await tts.post(await tts.form('gateway', await tts.userToken('alice')))
    await tts.post(await tts.form('orders', await tts.userToken('alice')))
    const [issued, refused] = spans.getFinishedSpans()
    expect(issued?.name).toBe('authorize txn_token')
    expect(issued?.attributes).toMatchObject({
      [ATTR_AUTHZ_ACTION]: 'issue',
      [ATTR_AUTHZ_DECISION]: 'allowed',
      [ATTR_AUTHZ_WORKLOAD_ID]: serviceId('gateway'),
      [ATTR_AUTHZ_TRANSACTION_ID]: claimsOf(body['access_token'])['txn'],
    })
    expect(refused?.attributes).toMatchObject({ [ATTR_AUTHZ_DECISION]: 'denied', [ATTR_AUTHZ_REASON]: 'policy_denied' })
  })
})

describe('request details with prototype keys', () => {
  let tts: TtsFixture
  beforeAll(async () => {
    tts = await startTts()
  })
  afterAll(() => tts.close())

  it('keeps __proto__ and constructor as plain members of tctx', async () => {
    const form = await tts.form('gateway', await tts.userToken('alice'), { request_details: '{"__proto__":{"admin":true},"constructor":"x"}' })
    const { status, body } = await tts.post(form)
    expect(status).toBe(200)
    const tctx = claimsOf(body['access_token'])['tctx'] as Record<string, unknown>
    expect(Object.hasOwn(tctx, '__proto__')).toBe(true)
    expect(Object.hasOwn(tctx, 'constructor')).toBe(true)
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined()
  })
})
