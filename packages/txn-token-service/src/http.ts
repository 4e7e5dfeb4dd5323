/**
 * The standalone server's request handler: the token endpoint, the JWKS and the metadata
 * document. Every answer is JSON; every failure an RFC 6749 error with its status, never a 500.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JsonWebKeySet } from '@meshguard/core'
import { isWptAuthorization, WIT_HEADER, WIT_ISSUANCE_PATH, WIT_JWKS_PATH, type WitIssuanceResponse } from '@meshguard/core/wimse'
import { refuse, TokenExchangeError } from './errors.js'
import { isFormContentType, parseForm, type FormParams } from './form.js'
import type { ClientAuthentication, WorkloadProof } from './service-api.js'
import { TXN_TOKEN_SERVICE_PATHS, type TxnTokenResponse } from './token-format.js'
import { parseJsonBody } from './wit/wit-request.js'

/** What the handler serves for the WIT issuer. */
export interface WitEndpoints {
  /** Seconds the WIT JWKS may be cached (half the WIT keys' activation delay). */
  readonly jwksMaxAge: number
  issue(body: unknown): Promise<WitIssuanceResponse>
  jwks(): JsonWebKeySet
  refusedEarly(error: TokenExchangeError): void
}

/** What the handler serves from. */
export interface HttpEndpoints {
  readonly maxBodyBytes: number
  /** Seconds a JWKS answer may be cached. */
  readonly jwksMaxAge: number
  readonly metadata: Readonly<Record<string, unknown>>
  jwks(): JsonWebKeySet
  exchange(params: FormParams, client: ClientAuthentication): Promise<TxnTokenResponse>
  refusedEarly(error: TokenExchangeError): void
  /** The WIT issuer, when enabled. */
  readonly wit: WitEndpoints | undefined
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  })
  res.end(text)
}

function sendError(res: ServerResponse, error: TokenExchangeError, headers: Record<string, string> = {}): void {
  send(res, error.httpStatus, error.toBody(), { 'cache-control': 'no-store', ...headers })
}

/** Reads the body up to `limit` bytes; a longer one is refused with 413 as soon as it shows. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > limit) {
      reject(new TokenExchangeError('invalid_request', 'body_too_large', `request body is larger than ${limit} bytes`, { status: 413 }))
      return
    }
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new TokenExchangeError('invalid_request', 'body_too_large', `request body is larger than ${limit} bytes`, { status: 413 }))
        req.removeAllListeners('data')
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

async function tokenRequest(req: IncomingMessage, res: ServerResponse, endpoints: HttpEndpoints): Promise<void> {
  const workloadProof = workloadProofOf(req)
  let params: FormParams
  try {
    if (!isFormContentType(req.headers['content-type'])) {
      throw new TokenExchangeError('invalid_request', 'content_type_unsupported', 'the body must be application/x-www-form-urlencoded', { status: 415 })
    }
    if (req.headers.authorization !== undefined && workloadProof === undefined) {
      throw refuse.client('client_authentication_method', 'client authentication is private_key_jwt, or a WIT with "Authorization: WPT"')
    }
    params = parseForm(await readBody(req, endpoints.maxBodyBytes))
  } catch (err) {
    const error = err instanceof TokenExchangeError ? err : refuse.request('body_unreadable', 'the request body could not be read', err)
    endpoints.refusedEarly(error)
    sendError(res, error, error.httpStatus === 413 ? { connection: 'close' } : {})
    return
  }
  const client: ClientAuthentication = {
    assertion: params.get('client_assertion'),
    assertionType: params.get('client_assertion_type'),
    clientId: params.get('client_id'),
    workloadProof,
  }
  try {
    const response = await endpoints.exchange(params, client)
    send(res, 200, response, { 'cache-control': 'no-store', pragma: 'no-cache' })
  } catch (err) {
    // exchange() only throws TokenExchangeErrors; anything else fails closed the same way.
    const error = err instanceof TokenExchangeError ? err : refuse.unavailable('internal', 'the token service could not complete the request', err)
    // RFC 6749 §5.2: a 401 names the authentication scheme the client used.
    sendError(res, error, error.httpStatus === 401 && client.workloadProof !== undefined ? { 'www-authenticate': 'WPT' } : {})
  }
}

/** `POST /wit`: a JSON issuance request. */
async function witRequest(req: IncomingMessage, res: ServerResponse, wit: WitEndpoints, maxBodyBytes: number): Promise<void> {
  let body: unknown
  try {
    const media = req.headers['content-type']?.split(';', 1)[0]?.trim().toLowerCase()
    if (media !== 'application/json') {
      throw new TokenExchangeError('invalid_request', 'content_type_unsupported', 'the body must be application/json', { status: 415 })
    }
    body = parseJsonBody(await readBody(req, maxBodyBytes))
  } catch (err) {
    const error = err instanceof TokenExchangeError ? err : refuse.request('body_unreadable', 'the request body could not be read', err)
    wit.refusedEarly(error)
    sendError(res, error, error.httpStatus === 413 ? { connection: 'close' } : {})
    return
  }
  try {
    send(res, 200, await wit.issue(body), { 'cache-control': 'no-store', pragma: 'no-cache' })
  } catch (err) {
    // issue() only throws TokenExchangeErrors; anything else fails closed the same way.
    sendError(res, err instanceof TokenExchangeError ? err : refuse.unavailable('internal', 'the token service could not complete the request', err))
  }
}

/**
 * The WIMSE headers of a token request that authenticates that way (a WIT, or an `Authorization: WPT`
 * proof, recognised as core's verifier recognises it), else undefined.
 */
function workloadProofOf(req: IncomingMessage): WorkloadProof | undefined {
  const { authorization } = req.headers
  const wit = req.headers[WIT_HEADER]
  if (wit === undefined && (typeof authorization !== 'string' || !isWptAuthorization(authorization.trimStart()))) return undefined
  return { wit, authorization }
}

/** The request handler of a service. */
export function createHandler(endpoints: HttpEndpoints): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    let path: string
    try {
      path = new URL(req.url ?? '/', 'http://service.invalid').pathname
    } catch {
      path = ''
    }
    const method = req.method ?? 'GET'
    try {
      if (path === TXN_TOKEN_SERVICE_PATHS.token) {
        if (method !== 'POST') {
          sendError(res, new TokenExchangeError('invalid_request', 'method_not_allowed', 'use POST', { status: 405 }), { allow: 'POST' })
          return
        }
        tokenRequest(req, res, endpoints).catch((err: unknown) => {
          sendError(res, refuse.unavailable('internal', 'the token service could not complete the request', err))
        })
        return
      }
      const { wit } = endpoints
      if (wit !== undefined && path === WIT_ISSUANCE_PATH) {
        if (method !== 'POST') {
          sendError(res, new TokenExchangeError('invalid_request', 'method_not_allowed', 'use POST', { status: 405 }), { allow: 'POST' })
          return
        }
        witRequest(req, res, wit, endpoints.maxBodyBytes).catch((err: unknown) => {
          sendError(res, refuse.unavailable('internal', 'the token service could not complete the request', err))
        })
        return
      }
      const witJwks = wit !== undefined && path === WIT_JWKS_PATH
      if (path === TXN_TOKEN_SERVICE_PATHS.jwks || path === TXN_TOKEN_SERVICE_PATHS.metadata || witJwks) {
        if (method !== 'GET' && method !== 'HEAD') {
          sendError(res, new TokenExchangeError('invalid_request', 'method_not_allowed', 'use GET', { status: 405 }), { allow: 'GET, HEAD' })
          return
        }
        const body = witJwks ? wit.jwks() : path === TXN_TOKEN_SERVICE_PATHS.jwks ? endpoints.jwks() : endpoints.metadata
        send(res, 200, body, { 'cache-control': `public, max-age=${witJwks ? wit.jwksMaxAge : endpoints.jwksMaxAge}` })
        return
      }
      sendError(res, new TokenExchangeError('invalid_request', 'not_found', 'no such endpoint', { status: 404 }))
    } catch (err) {
      sendError(res, refuse.unavailable('internal', 'the token service could not complete the request', err))
    }
  }
}
