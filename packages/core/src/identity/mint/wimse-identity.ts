/**
 * The minting side of the WIMSE profile: for every outbound attempt, the WIT as held and a fresh
 * Workload Proof Token for exactly that target, bound to the Txn-Token (`tth`) and any other context
 * tokens (`oth`) that travel with it.
 */
import { ConfigError, MintError, toMeshguardError } from '../../errors.js'
import { actorTokenOf, txnTokenOf } from '../caller.js'
import { sha256Base64url } from '../digest.js'
import { DEFAULT_TRANSACTION_HEADER, isTransactionId } from '../headers.js'
import { TXN_TOKEN_HEADER } from '../txn-wire.js'
import { WIT_HEADER } from '../wimse-wire.js'
import { outboundTxnToken } from './txn-outbound.js'
import type { OutboundIdentityRequest } from './workload-identity.js'
import type { WitSource, WorkloadCredential } from './wit-source.js'
import { signWpt } from './wpt-mint.js'

/** Options of {@link createWimseIdentity}. Durations in seconds. */
export interface WimseIdentityOptions {
  /** Where the WIT and its key come from (`staticWitSource`, `witFileSource`, the token service's source). */
  source: WitSource
  /**
   * What a WPT's `aud` is: `target`, the target URI without query or fragment (wpt §2); `destination`,
   * the destination's configured audience string (where proxies rewrite URIs). A destination's own
   * `wptAudience` wins over both. @defaultValue `'target'`
   */
  audience?: 'target' | 'destination' | undefined
  /** WPT lifetime, at most 300; never past the Txn-Token's or the WIT's `exp`. @defaultValue 60 */
  ttl?: number | undefined
  /** Context-token headers bound by `oth` when a request carries them (any case). @defaultValue none */
  otherTokens?: string[] | undefined
  /** Header for the Txn-Token. @defaultValue `'txn-token'` */
  txnTokenHeader?: string | undefined
  /** Header for the transaction id. @defaultValue `'x-meshguard-txn'` */
  transactionHeader?: string | undefined
  /** Milliseconds clock. @defaultValue `Date.now` */
  clock?: (() => number) | undefined
}

/** The minting side of the WIMSE profile, shaped like `createWorkloadIdentity`'s for the client. */
export interface WimseIdentity {
  /**
   * The headers of one outbound attempt: `Workload-Identity-Token`, `Authorization: WPT <fresh proof>`,
   * the Txn-Token and the transaction id. Call it for every attempt (retries too): a WPT is single-use.
   *
   * @throws MintError before anything is sent (`wit_expired`, `wit_unavailable`, `audience_invalid`,
   *   `actor_unbindable`, `txn_token_expired`, `wpt_signing_failed`)
   */
  headersFor(request: OutboundIdentityRequest): Promise<Record<string, string>>
  /** Lower-case context-token headers the client hands over in `contextTokens`. */
  readonly contextHeaders: readonly string[]
}

/**
 * Creates the WIMSE minting side.
 *
 * @example
 * ```ts
 * const identity = createWimseIdentity({ source: witFileSource({ witFile: '/run/wit/wit.jwt', keyFile: '/run/wit/key.pem' }) })
 * const client = createMeshguardFetch({ identity, destinations: { 'https://reviews.internal': 'spiffe://example.org/reviews' } })
 * ```
 * @throws ConfigError naming the option
 */
export function createWimseIdentity(options: WimseIdentityOptions): WimseIdentity {
  if (typeof options !== 'object' || (options as unknown) === null) throw new ConfigError('identity', 'must be an object')
  const { source } = options
  if (typeof (source as typeof source | undefined)?.current !== 'function') throw new ConfigError('identity.source', 'must be a WIT source (current())')
  const audienceMode = options.audience ?? 'target'
  if (audienceMode !== 'target' && (audienceMode as string) !== 'destination') throw new ConfigError('identity.audience', 'must be "target" or "destination"')
  const ttl = options.ttl ?? 60
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 300) throw new ConfigError('identity.ttl', 'must be a whole number of seconds from 1 to 300')
  const otherList = options.otherTokens ?? []
  if (!Array.isArray(otherList) || otherList.some((n) => typeof n !== 'string' || n === '')) throw new ConfigError('identity.otherTokens', 'must be a list of header names')
  const contextHeaders = Object.freeze(otherList.map((n) => n.toLowerCase()))
  const txnTokenHeader = (options.txnTokenHeader ?? TXN_TOKEN_HEADER).toLowerCase()
  const transactionHeader = (options.transactionHeader ?? DEFAULT_TRANSACTION_HEADER).toLowerCase()
  const clock = options.clock ?? Date.now

  async function credentialNow(): Promise<WorkloadCredential> {
    try {
      return await source.current()
    } catch (err) {
      const error = toMeshguardError(err)
      if (error instanceof MintError) throw error
      throw new MintError('wit_unavailable', 'the workload identity source failed', { cause: err })
    }
  }

  function audienceOf(request: OutboundIdentityRequest): string {
    const aud = request.proofAudience ?? (audienceMode === 'destination' ? request.audience : request.target)
    if (typeof aud !== 'string' || aud === '') throw new MintError('audience_invalid', 'a WPT needs the target URI (or a configured audience)')
    const cut = aud.search(/[?#]/)
    return cut === -1 ? aud : aud.slice(0, cut)
  }

  async function headersFor(request: OutboundIdentityRequest): Promise<Record<string, string>> {
    if (typeof request !== 'object' || (request as unknown) === null) throw new MintError('audience_invalid', 'an outbound call needs its target')
    const aud = audienceOf(request)
    const { caller } = request
    const txnToken = request.txnToken ?? (caller === undefined ? undefined : txnTokenOf(caller))
    const actor = request.actor ?? (caller === undefined ? undefined : actorTokenOf(caller))
    if (txnToken === undefined && actor !== undefined) {
      throw new MintError('actor_unbindable', 'an actor token cannot travel with a workload proof token; use a Txn-Token')
    }
    const credential = await credentialNow()
    const now = clock()
    if (credential.expiresAt * 1000 <= now) throw new MintError('wit_expired', 'the workload credential has expired')
    const txn = txnToken === undefined ? undefined : outboundTxnToken(txnToken, request.txnToken === undefined ? caller?.txn : undefined, now)
    const transactionId = txn?.id ?? request.transactionId ?? caller?.transactionId
    if (transactionId !== undefined && !isTransactionId(transactionId)) throw new MintError('txn_invalid', 'transaction id is malformed')
    if (txn !== undefined && request.transactionId !== undefined && request.transactionId !== txn.id) {
      throw new MintError('txn_invalid', 'the transaction id differs from the Txn-Token "txn"')
    }
    // Never outlive the Txn-Token the proof binds, nor the WIT it proves.
    const exp = Math.min(Math.floor(now / 1000) + ttl, txn === undefined ? Number.POSITIVE_INFINITY : Math.floor(txn.expiresAt / 1000), credential.expiresAt)
    let oth: Record<string, string> | undefined
    for (const name of contextHeaders) {
      const value = request.contextTokens?.[name]
      if (value === undefined) continue
      oth ??= {}
      oth[name] = sha256Base64url(value.trim())
    }
    const wpt = signWpt(credential, { aud, exp, tth: txn?.digest, oth })
    const headers: Record<string, string> = { [WIT_HEADER]: credential.wit, authorization: `WPT ${wpt}` }
    if (txnToken !== undefined) headers[txnTokenHeader] = txnToken
    if (transactionId !== undefined) headers[transactionHeader] = transactionId
    return headers
  }

  return { headersFor, contextHeaders }
}

