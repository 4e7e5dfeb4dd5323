/** The contract between the minting side and where workload tokens come from. */

/** What the minting side asks a token source for. */
export interface TokenRequest {
  /** This service's SPIFFE ID. */
  readonly id: string
  /** The callee. */
  readonly audience: string
  /** base64url(sha256(actor token)) to bind, when an actor travels along. */
  readonly actorDigest?: string | undefined
  /** The nested `act` claim (workloads earlier in the call chain). */
  readonly act?: Record<string, unknown> | undefined
  /** Transaction id to carry as `txn`. */
  readonly transactionId?: string | undefined
  /** base64url(sha256(Txn-Token)) to bind as `tth`, when a Txn-Token travels along (instead of an actor token). */
  readonly txnTokenDigest?: string | undefined
  /** Epoch ms the token must not outlive (the Txn-Token's expiry). */
  readonly notAfter?: number | undefined
  /** Milliseconds clock reading. */
  readonly now: number
}

/** A minted or fetched token and when it expires (epoch ms). */
export interface SourcedToken {
  readonly token: string
  readonly expiresAt: number
}

/** Where workload tokens come from. */
export interface WorkloadTokenSource {
  readonly kind: 'self-signed' | 'token-file' | 'client-credentials'
  /** True when tokens carry per-call audience, actor binding, `act` chain and `txn` (self-signed only). */
  readonly binds: boolean
  /** Produces a token for the request; failures are `MintError`s. */
  token(request: TokenRequest): Promise<SourcedToken>
}
