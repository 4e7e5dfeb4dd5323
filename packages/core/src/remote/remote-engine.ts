import type { SecureContext } from 'node:tls'
import { ConfigError, MeshguardError, RequestError, UnavailableError } from '../errors.js'
import type { CheckResourcesRequest, CheckResourcesResponse, DecisionEngine } from '../types.js'
import {
  fromCerbosResponse,
  toCerbosRequest,
  type CerbosCheckResourcesRequest,
  type CerbosCheckResourcesResponse,
} from './map.js'

/**
 * The part of a Cerbos SDK client (`@cerbos/grpc` `GRPC`, `@cerbos/http` `HTTP`) the remote engine
 * uses. Inject one to reuse a configured client; otherwise `@cerbos/grpc` is loaded on first use.
 */
export interface CerbosClientLike {
  checkResources(
    request: CerbosCheckResourcesRequest,
    options?: { signal?: AbortSignal | undefined },
  ): Promise<CerbosCheckResourcesResponse>
  close?(): void
}

/** Options of {@link RemoteEngine}. */
export interface RemoteEngineOptions {
  /** gRPC address of the PDP: `host:port` or `unix:/path`. Required unless `client` is given. */
  address?: string | undefined
  /**
   * TLS to the PDP: `true` for the default CAs, or a `tls.createSecureContext(...)` for custom CAs
   * and mutual TLS. @defaultValue false (plaintext, for a PDP sidecar on loopback)
   */
  tls?: boolean | SecureContext | undefined
  /** A ready client instead of `address`; it is not closed by `close()`. */
  client?: CerbosClientLike | undefined
  /** Per-check deadline; beyond it the check fails closed with reason `pdp_timeout`. @defaultValue 1000 */
  timeoutMs?: number | undefined
  /**
   * Verified JWT claims in `auxData` cannot be forwarded: the Cerbos API takes the raw token and
   * verifies it itself. `reject` fails such requests (`remote_aux_data_unsupported`); `drop` sends
   * them without auxData (policies reading `request.auxData` then see nothing). @defaultValue 'reject'
   */
  auxData?: 'reject' | 'drop' | undefined
  /** Digest of the policy set the PDP serves, if the operator knows it (reported by `policyInfo`). */
  policyDigest?: string | undefined
}

// gRPC status codes (grpc/status.proto) that mean "the PDP could not be reached or gave up".
const GRPC_INVALID_ARGUMENT = 3
const GRPC_DEADLINE_EXCEEDED = 4
const GRPC_CANCELLED = 1

const kTimeout = Symbol('timeout')

/**
 * A {@link DecisionEngine} backed by a real Cerbos PDP over gRPC (`@cerbos/grpc`, an optional peer
 * dependency loaded on first use). Identity is still verified locally; the verified principal is sent
 * to the PDP. Unreachable, failing or slow PDP → `UnavailableError` (503) with reason
 * `pdp_unavailable` or `pdp_timeout`; never an allow on error.
 *
 * @example
 * ```ts
 * const engine = new RemoteEngine({ address: 'cerbos:3593', timeoutMs: 500 })
 * ```
 */
export class RemoteEngine implements DecisionEngine {
  /** Always `remote`. */
  readonly kind = 'remote' as const
  /** Digest of the PDP's policy set, when configured. */
  readonly policyDigest: string | undefined
  readonly #timeoutMs: number
  readonly #auxData: 'reject' | 'drop'
  readonly #ownsClient: boolean
  readonly #address: string | undefined
  readonly #tls: boolean | SecureContext
  #client: Promise<CerbosClientLike> | undefined
  #closed = false

  constructor(options: RemoteEngineOptions) {
    if (!options.client && (typeof options.address !== 'string' || options.address === '')) {
      throw new ConfigError('remote.address', 'a PDP address or a client is required')
    }
    const timeoutMs = options.timeoutMs ?? 1000
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError('remote.timeoutMs', 'must be a positive number')
    }
    if (options.auxData !== undefined && options.auxData !== 'reject' && (options.auxData as string) !== 'drop') {
      throw new ConfigError('remote.auxData', 'must be "reject" or "drop"')
    }
    this.#timeoutMs = timeoutMs
    this.#auxData = options.auxData ?? 'reject'
    this.#ownsClient = !options.client
    this.#address = options.address
    this.#tls = options.tls ?? false
    this.policyDigest = options.policyDigest
    if (options.client) this.#client = Promise.resolve(options.client)
  }

  /** Asks the PDP. Throws a `MeshguardError` on any failure; never resolves to an allow on error. */
  async checkResources(request: CheckResourcesRequest): Promise<CheckResourcesResponse> {
    if (this.#closed) throw new UnavailableError('pdp_unavailable', 'the remote engine is closed')
    // Nothing in auxData is forwarded (Cerbos wants raw tokens, we hold verified claims): refuse
    // rather than let the PDP decide without data the policies may read.
    const hasAuxData = request.auxData !== undefined && Object.values(request.auxData).some((v) => v !== undefined)
    if (hasAuxData && this.#auxData === 'reject') {
      throw new RequestError('auxData cannot be sent to a remote PDP (it takes raw tokens, not verified claims)', {
        reason: 'remote_aux_data_unsupported',
      })
    }
    const client = await this.#getClient()
    const cerbosRequest = toCerbosRequest(request)
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<typeof kTimeout>((resolve) => {
      timer = setTimeout(() => {
        controller.abort()
        resolve(kTimeout)
      }, this.#timeoutMs)
    })
    let answer: CerbosCheckResourcesResponse | typeof kTimeout
    try {
      answer = await Promise.race([client.checkResources(cerbosRequest, { signal: controller.signal }), deadline])
    } catch (error) {
      if (controller.signal.aborted) throw timeoutError(this.#timeoutMs, error)
      throw pdpError(error)
    } finally {
      clearTimeout(timer)
    }
    if (answer === kTimeout) throw timeoutError(this.#timeoutMs)
    return fromCerbosResponse(request, answer)
  }

  /** Closes the gRPC channel this engine opened. Later checks fail closed. */
  async close(): Promise<void> {
    this.#closed = true
    if (this.#ownsClient && this.#client) {
      const client = await this.#client.catch(() => undefined)
      client?.close?.()
    }
  }

  #getClient(): Promise<CerbosClientLike> {
    this.#client ??= import('@cerbos/grpc').then(
      ({ GRPC }) => new GRPC(this.#address ?? '', { tls: this.#tls }) as unknown as CerbosClientLike,
      (error: unknown) => {
        this.#client = undefined
        throw new ConfigError('remote', 'the remote engine needs the optional dependency @cerbos/grpc', {
          cause: error,
        })
      },
    )
    return this.#client
  }
}

function timeoutError(timeoutMs: number, cause?: unknown): UnavailableError {
  return new UnavailableError('pdp_timeout', `the policy decision point did not answer within ${timeoutMs} ms`, {
    cause,
  })
}

function pdpError(error: unknown): MeshguardError {
  if (error instanceof MeshguardError) return error
  const code = (error as { code?: unknown } | null)?.code
  if (code === GRPC_INVALID_ARGUMENT) {
    return new RequestError('the policy decision point rejected the request', {
      reason: 'pdp_rejected_request',
      cause: error,
    })
  }
  if (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_CANCELLED) {
    return new UnavailableError('pdp_timeout', 'the policy decision point did not answer in time', { cause: error })
  }
  return new UnavailableError('pdp_unavailable', 'the policy decision point is unavailable', { cause: error })
}
