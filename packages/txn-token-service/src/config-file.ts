/**
 * The service's JSON configuration file, for `meshguard tts --config <file>`: the options of
 * `createTxnTokenService` with files instead of objects (paths relative to the file).
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import {
  ConfigError,
  createAuditLog,
  EmbeddedEngine,
  stdoutSink,
  type AuditLog,
  type TrustBundleOptions,
} from '@meshguard/core'
import { fileSink } from '@meshguard/core/node'
import { bounded } from './option-checks.js'
import type { SubjectIssuerOptions, TxnTokenAlgorithm, TxnTokenServiceLimits, TxnTokenServiceOptions, TxnTokenSigningKeyInput } from './options.js'
import { checkRedisUrl, connectRedis, type RedisConnection } from './state/redis-connection.js'
import { redisSharedState } from './state/shared-state.js'
import type { WitIssuerOptions } from './wit/wit-options.js'

/** The `wit` section: the options of the WIT issuer with files instead of objects (paths relative to the file). */
export interface WitIssuerConfigFile extends Omit<WitIssuerOptions, 'signingKeys'> {
  /** PEM files of the WIT signing keys (ES256 or EdDSA); the first signs. */
  signingKeys: Array<{ file: string; kid: string; alg?: 'ES256' | 'EdDSA' }>
}

/** The `sharedState` section: the Redis every replica of the service shares. */
export interface SharedStateConfigFile {
  redis: {
    /** `rediss://…` (TLS), or `redis://…` on a loopback host; credentials may go in the URL. */
    url: string
    /** Put before every key. @defaultValue `'meshguard:tts:'` */
    prefix?: string
    /** A command that has not answered by then fails the request with 503. @defaultValue 250 */
    timeoutMs?: number
    /** Start-up gives up when Redis cannot be reached this long. @defaultValue 5000 */
    connectTimeoutMs?: number
  }
}

/** The file's shape. */
export interface TxnTokenServiceConfigFile {
  issuer: string
  trustDomain: string
  /** Where to listen. @defaultValue port 8080 on 127.0.0.1 */
  listen?: { port?: number; host?: string } | undefined
  /** PEM files; the first signs. */
  signingKeys: Array<{ file: string; kid: string; alg?: TxnTokenAlgorithm }>
  /** Workload trust anchors (`keys.jwksFile` relative to the file). */
  trust: TrustBundleOptions
  subjectIssuers?: SubjectIssuerOptions[]
  /** Directory of the issuance policies. */
  policies: string
  tokenLifetime?: number
  maxReplacements?: number
  detailKeys?: string[]
  contextKeys?: string[]
  clockTolerance?: number
  keyActivationDelay?: number
  limits?: TxnTokenServiceLimits
  /** `stdout` or `{ file }`. @defaultValue stdout */
  audit?: 'stdout' | { file: string } | 'off'
  /** The WIT issuer. @defaultValue off */
  wit?: WitIssuerConfigFile
  /** State shared by replicas (used `jti`s, replacement counts). @defaultValue per process */
  sharedState?: SharedStateConfigFile
}

/** A loaded configuration: service options plus where to listen. */
export interface LoadedTxnTokenServiceConfig {
  options: TxnTokenServiceOptions
  listen: { port: number; host: string }
  /** The signing keys as configured (for rotation on reload). */
  signingKeys: TxnTokenSigningKeyInput[]
  /** The WIT signing keys as configured, when the WIT issuer is on. */
  witSigningKeys: TxnTokenSigningKeyInput[] | undefined
  /** `host:port` of the shared Redis, when `sharedState` is configured. */
  sharedStateAt: string | undefined
  /** Closes what loading opened (the Redis connection); call it once the service has stopped. */
  disconnect(): void
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** Reads only the key list of a configuration file (rotation on reload). */
export function readSigningKeys(file: string): TxnTokenSigningKeyInput[] {
  return signingKeysOf(readConfig(file).signingKeys, dirname(resolve(file)), 'signingKeys')
}

/** Reads only the WIT key list of a configuration file (rotation on reload); undefined without a `wit` section. */
export function readWitSigningKeys(file: string): TxnTokenSigningKeyInput[] | undefined {
  const { wit } = readConfig(file)
  return wit === undefined ? undefined : signingKeysOf(wit.signingKeys, dirname(resolve(file)), 'wit.signingKeys')
}

function readConfig(file: string): TxnTokenServiceConfigFile {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError('config', `${file} is not a readable JSON file`, { cause: err })
  }
  if (!isObject(parsed)) throw new ConfigError('config', 'must be a JSON object')
  return parsed as unknown as TxnTokenServiceConfigFile
}

function signingKeysOf(keys: TxnTokenServiceConfigFile['signingKeys'], base: string, option: string): TxnTokenSigningKeyInput[] {
  if (!Array.isArray(keys)) throw new ConfigError(option, 'must list { file, kid }')
  return keys.map((key, i) => {
    if (!isObject(key) || typeof key.file !== 'string') throw new ConfigError(`${option}[${i}].file`, 'is required')
    return { key: { file: resolve(base, key.file) }, kid: key.kid, alg: key.alg }
  })
}

/** A `{ jwksFile }` key source made absolute; other sources as they are. */
function keysRelativeTo<K>(keys: K, base: string): K {
  return isObject(keys) && typeof keys['jwksFile'] === 'string' ? { ...keys, jwksFile: resolve(base, keys['jwksFile']) } : keys
}

function witOf(wit: WitIssuerConfigFile | undefined, base: string): { options: WitIssuerOptions; signingKeys: TxnTokenSigningKeyInput[] } | undefined {
  if (wit === undefined) return undefined
  if (!isObject(wit)) throw new ConfigError('wit', 'must be an object')
  const signingKeys = signingKeysOf(wit.signingKeys, base, 'wit.signingKeys')
  const relative = <T extends { keys: unknown }>(list: T[] | undefined): T[] | undefined =>
    Array.isArray(list) ? list.map((entry) => (isObject(entry) ? { ...entry, keys: keysRelativeTo(entry.keys, base) } : entry)) : list
  return {
    options: { ...wit, signingKeys, kubernetes: relative(wit.kubernetes), registeredKeys: relative(wit.registeredKeys), spiffe: relative(wit.spiffe) },
    signingKeys,
  }
}

function trustOf(trust: TrustBundleOptions, base: string): TrustBundleOptions {
  if (!isObject(trust) || !Array.isArray(trust.workloads)) throw new ConfigError('trust.workloads', 'must be a list of trust anchors')
  return {
    ...trust,
    workloads: trust.workloads.map((anchor: NonNullable<TrustBundleOptions['workloads']>[number]) =>
      isObject(anchor) && isObject(anchor.keys) && 'jwksFile' in anchor.keys && typeof anchor.keys.jwksFile === 'string'
        ? { ...anchor, keys: { jwksFile: resolve(base, anchor.keys.jwksFile) } }
        : anchor,
    ),
  }
}

function auditOf(audit: TxnTokenServiceConfigFile['audit'], base: string): AuditLog | undefined {
  if (audit === 'off') return undefined
  if (audit === undefined || audit === 'stdout') return createAuditLog({ sinks: [stdoutSink()] })
  if (isObject(audit) && typeof audit.file === 'string') return createAuditLog({ sinks: [fileSink({ path: resolve(base, audit.file) })] })
  throw new ConfigError('audit', 'must be "stdout", "off" or { file }')
}

/** The `sharedState` section, checked (nothing contacted yet); undefined without one. */
interface SharedStateSection {
  readonly url: URL
  readonly connectTimeoutMs: number
  readonly options: { prefix?: string; timeoutMs: number }
}

function sharedStateOf(section: SharedStateConfigFile | undefined): SharedStateSection | undefined {
  if (section === undefined) return undefined
  if (!isObject(section) || !isObject(section.redis)) throw new ConfigError('sharedState', 'must be { redis: { url } }')
  const { redis } = section
  const url = checkRedisUrl(redis.url, 'sharedState.redis.url')
  if (redis.prefix !== undefined && typeof redis.prefix !== 'string') throw new ConfigError('sharedState.redis.prefix', 'must be a string')
  const timeoutMs = bounded(redis.timeoutMs, 250, 1, 10_000, 'sharedState.redis.timeoutMs')
  const connectTimeoutMs = bounded(redis.connectTimeoutMs, 5000, 1, 60_000, 'sharedState.redis.connectTimeoutMs')
  return { url, connectTimeoutMs, options: { ...(redis.prefix === undefined ? {} : { prefix: redis.prefix }), timeoutMs } }
}

/**
 * Loads a configuration file: keys, trust files and policies are read now, so a mistake stops
 * the service at startup with the option named.
 */
export async function loadTxnTokenServiceConfig(file: string): Promise<LoadedTxnTokenServiceConfig> {
  const config = readConfig(file)
  const base = dirname(resolve(file))
  if (typeof config.policies !== 'string') throw new ConfigError('policies', 'must name the policy directory')
  const engine = await EmbeddedEngine.fromDirectory(resolve(base, config.policies))
  const signingKeys = signingKeysOf(config.signingKeys, base, 'signingKeys')
  const wit = witOf(config.wit, base)
  const listen = config.listen ?? {}
  if (!isObject(listen)) throw new ConfigError('listen', 'must be { port, host }')
  const sharedSection = sharedStateOf(config.sharedState)
  const audit = auditOf(config.audit, base)
  // Last: nothing is contacted unless the rest of the file is sound.
  let connection: RedisConnection | undefined
  try {
    connection = sharedSection === undefined ? undefined : await connectRedis(sharedSection.url, 'sharedState.redis', sharedSection.connectTimeoutMs)
  } catch (err) {
    await audit?.close()
    throw err
  }
  return {
    options: {
      issuer: config.issuer,
      trustDomain: config.trustDomain,
      signingKeys,
      trust: trustOf(config.trust, base),
      subjectIssuers: config.subjectIssuers,
      engine,
      tokenLifetime: config.tokenLifetime,
      maxReplacements: config.maxReplacements,
      detailKeys: config.detailKeys,
      contextKeys: config.contextKeys,
      clockTolerance: config.clockTolerance,
      keyActivationDelay: config.keyActivationDelay,
      limits: config.limits,
      audit,
      wit: wit?.options,
      ...(connection === undefined || sharedSection === undefined ? {} : { sharedState: redisSharedState(connection.client, sharedSection.options) }),
    },
    listen: { port: listen.port ?? 8080, host: listen.host ?? '127.0.0.1' },
    signingKeys,
    witSigningKeys: wit?.signingKeys,
    sharedStateAt: sharedSection?.url.host,
    disconnect: () => connection?.close(),
  }
}
