/**
 * Fuzzing of the Txn-Token Service's request parser: tens of thousands of mutated token requests,
 * each mutation one that must make the request fail (a required parameter dropped, replaced or
 * repeated; a token corrupted; the scope widened; a broken body or content type). None may be
 * accepted; none may crash or answer 500; every answer is an RFC 6749 JSON error. The mutations
 * run through the real request handler in process (a fixed seed), plus a sample over loopback HTTP.
 */
import { PassThrough } from 'node:stream'
import type { IncomingMessage, ServerResponse } from 'node:http'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TOKEN_TYPES } from '@meshguard/txn-token-service'
import { startTts, type TtsFixture } from '../../packages/txn-token-service/test/support/tts.js'

// The base64url alphabet, one entry per character (all ASCII).
const B64URL = Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_')
const REQUIRED = [
  'grant_type',
  'requested_token_type',
  'audience',
  'scope',
  'subject_token',
  'subject_token_type',
  'client_assertion',
  'client_assertion_type',
] as const
const ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
])

/** One request as the handler sees it. */
interface Request {
  form: Array<[string, string]>
  /** Replaces the encoded form when set. */
  rawBody?: Buffer | undefined
  contentType: string
}

type Mutation = (request: Request) => Request
const withForm = (request: Request, form: Array<[string, string]>): Request => ({ ...request, form })
const valueOf = (request: Request, name: string): string => request.form.find(([n]) => n === name)?.[1] ?? ''

/** True when the mutated token decodes to exactly the original JWS (unused bits of the last character). */
function sameJws(original: string, mutated: string): boolean {
  const [h1, p1, s1] = original.split('.')
  const [h2, p2, s2, ...rest] = mutated.split('.')
  if (rest.length > 0 || h1 !== h2 || p1 !== p2 || s2 === undefined) return false
  return Buffer.from(s1 ?? '', 'base64url').equals(Buffer.from(s2, 'base64url'))
}

const tokenMutation: fc.Arbitrary<(token: string) => string> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...B64URL)).map(([i, c]) => (t: string) => {
    const at = i % t.length
    return t.slice(0, at) + c + t.slice(at + 1)
  }),
  fc.nat().map((i) => (t: string) => t.slice(0, i % t.length)),
  fc.tuple(fc.nat(), fc.string({ maxLength: 6 })).map(([i, s]) => (t: string) => {
    const at = i % t.length
    return t.slice(0, at) + s + t.slice(at)
  }),
  fc.constant((t: string) => t.split('.').reverse().join('.')),
  fc.constant((t: string) => `${t}.${t}`),
)

/** Mutations each of which must make a valid request fail. */
const mustFail: fc.Arbitrary<Mutation> = fc.oneof(
  // A required parameter left out.
  fc.constantFrom(...REQUIRED).map((name): Mutation => (r) => withForm(r, r.form.filter(([n]) => n !== name))),
  // A required fixed-value parameter replaced by anything else.
  fc
    .tuple(fc.constantFrom('grant_type', 'requested_token_type', 'audience', 'subject_token_type', 'client_assertion_type'), fc.string({ maxLength: 80 }))
    .map(([name, value]): Mutation => (r) => {
      const original = valueOf(r, name)
      const replacement = value === original ? `${value}x` : value
      return withForm(r, r.form.map(([n, v]) => [n, n === name ? replacement : v]))
    }),
  // A token corrupted (unless the corruption is invisible to a decoder).
  fc.tuple(fc.constantFrom('subject_token', 'client_assertion'), tokenMutation).map(([name, mutate]): Mutation => (r) => {
    const original = valueOf(r, name)
    let mutated = mutate(original)
    if (mutated === original || sameJws(original, mutated)) mutated = `${original}A.`
    return withForm(r, r.form.map(([n, v]) => [n, n === name ? mutated : v]))
  }),
  // Any parameter repeated.
  fc.tuple(fc.nat(), fc.string({ maxLength: 40 })).map(([i, value]): Mutation => (r) => {
    const [name] = r.form[i % r.form.length] as [string, string]
    return withForm(r, [...r.form, [name, value]])
  }),
  // The scope widened beyond the subject token's.
  fc.stringMatching(/^[a-z][a-z.]{0,15}$/).map((extra): Mutation => (r) =>
    withForm(r, r.form.map(([n, v]) => [n, n === 'scope' ? `${v} ${extra === 'review.read' || extra === 'review.write' ? 'payroll.all' : extra}` : v])),
  ),
  // A body that is not the form.
  fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.string({ maxLength: 300 }).map((s) => new Uint8Array(Buffer.from(s)))).map(
    (bytes): Mutation => (r) => ({ ...r, rawBody: Buffer.from(bytes) }),
  ),
  // Another content type.
  fc.constantFrom('application/json', 'text/plain', 'multipart/form-data; boundary=x', '', 'application/x-www-form-urlencodedx').map(
    (contentType): Mutation => (r) => ({ ...r, contentType }),
  ),
)

/**
 * True when mutations cancelled out: the same content type, no raw body, and the same parameters
 * with the same values (tokens equal as decoded JWS). Such a request is the valid one again.
 */
function equivalent(original: Request, final: Request): boolean {
  if (final.rawBody !== undefined || final.contentType !== original.contentType) return false
  const names = (r: Request) => r.form.map(([n]) => n).sort().join('&')
  if (names(original) !== names(final)) return false
  return final.form.every(([name, value]) => {
    const before = valueOf(original, name)
    return value === before || ((name === 'subject_token' || name === 'client_assertion') && sameJws(before, value))
  })
}

/** Parameters a request may also carry, with any content: they must never crash the service. */
const noise: fc.Arbitrary<Mutation> = fc
  .tuple(fc.constantFrom('request_context', 'request_details', 'resource', 'client_id', 'actor_token', 'x'), fc.oneof(fc.string({ maxLength: 200 }), fc.json({ maxDepth: 6 })))
  .map(([name, value]): Mutation => (r) => (r.form.some(([n]) => n === name) ? r : withForm(r, [...r.form, [name, value]])))

/** Calls the handler in process with a request stream and a recording response. */
function call(handler: (req: IncomingMessage, res: ServerResponse) => void, request: Request): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const body = request.rawBody ?? Buffer.from(new URLSearchParams(request.form).toString())
    const req = Object.assign(new PassThrough(), {
      method: 'POST',
      url: '/token',
      headers: { 'content-type': request.contentType, 'content-length': String(body.length) },
    })
    const res = {
      headersSent: false,
      destroyed: false,
      status: 0,
      writeHead(status: number) {
        this.status = status
        this.headersSent = true
        return this
      },
      end(text: string) {
        resolve({ status: this.status, body: text })
      },
    }
    handler(req as unknown as IncomingMessage, res as unknown as ServerResponse)
    req.end(body)
  })
}

describe('fuzzing the token request parser', () => {
  let tts: TtsFixture
  let subjectToken: string
  beforeAll(async () => {
    tts = await startTts()
    subjectToken = await tts.userToken('alice', 'review.read review.write')
  })
  afterAll(() => tts.close())

  const validRequest = async (): Promise<Request> => ({
    form: Object.entries(await tts.form('gateway', subjectToken, { scope: 'review.read' })),
    contentType: 'application/x-www-form-urlencoded',
  })

  it('refuses 20,000 mutated requests with an RFC 6749 error, never a 500, never a token', async () => {
    const seen = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(fc.array(mustFail, { minLength: 1, maxLength: 3 }), fc.array(noise, { maxLength: 2 }), async (mutations, extras) => {
        const valid = await validRequest()
        let request = valid
        for (const mutate of extras) request = mutate(request)
        const withNoise = request
        for (const mutate of mutations) request = mutate(request)
        // Two mutations of one value can cancel out (a character changed, then changed back).
        fc.pre(!equivalent(withNoise, request))
        const { status, body } = await call(tts.service.handler, request)
        const parsed = JSON.parse(body) as Record<string, unknown>
        expect(parsed['access_token']).toBeUndefined()
        expect(status).not.toBe(200)
        expect(status).toBeLessThan(500)
        expect(ERRORS.has(String(parsed['error']))).toBe(true)
        expect(typeof parsed['error_description']).toBe('string')
        expect(body).not.toMatch(/at .*\.ts:\d+|Error:/)
        seen.set(String(parsed['error']), (seen.get(String(parsed['error'])) ?? 0) + 1)
      }),
      { numRuns: 20_000, seed: 16_2026 },
    )
    // The mutations reach every stage: parsing, client authentication, the subject token, scope.
    expect([...seen.keys()].sort()).toEqual(expect.arrayContaining(['invalid_client', 'invalid_request', 'invalid_scope', 'unsupported_grant_type']))
    // And the service still serves a valid request.
    const { status } = await call(tts.service.handler, await validRequest())
    expect(status).toBe(200)
  }, 600_000)

  it('answers noise-only requests over loopback HTTP without a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(noise, { maxLength: 3 }), async (extras) => {
        let request = await validRequest()
        for (const mutate of extras) request = mutate(request)
        const { status, body } = await tts.post(new URLSearchParams(request.form).toString())
        expect(status === 200 || (status >= 400 && status < 500)).toBe(true)
        if (status !== 200) expect(ERRORS.has(String(body['error']))).toBe(true)
      }),
      { numRuns: 500, seed: 16_2026 },
    )
  }, 300_000)

  it('keeps the subject token type list closed', async () => {
    const request = await validRequest()
    const form = request.form.map(([n, v]): [string, string] => [n, n === 'subject_token_type' ? TOKEN_TYPES.txnToken.replace('txn', 'TXN') : v])
    const { status } = await call(tts.service.handler, { ...request, form })
    expect(status).toBe(400)
  })
})
