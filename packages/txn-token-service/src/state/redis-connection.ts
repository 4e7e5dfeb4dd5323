/**
 * The Redis connection of a configuration file's `sharedState.redis` section, made with node-redis
 * (the `redis` package, an optional peer: loaded only when the section is there). Nothing is
 * contacted before the configuration is loaded, and only the configured URL.
 */
import { ConfigError } from '@meshguard/core'
import type { RedisCommandClient } from '@meshguard/core/node'
import { checkUrlScheme } from '../loopback-url.js'

/** The part of a node-redis client used here. */
interface NodeRedisClient extends RedisCommandClient {
  on(event: 'error', listener: (err: unknown) => void): unknown
  connect(): Promise<unknown>
  destroy(): void
}

/** The part of the `redis` package used here. */
interface NodeRedisPackage {
  createClient(options: { url: string; disableOfflineQueue: boolean; socket: { connectTimeout: number } }): NodeRedisClient
}

/** An open connection: the client the stores use, and how to close it. */
export interface RedisConnection {
  readonly client: RedisCommandClient
  /** Drops the connection (the service has stopped taking requests by then). */
  close(): void
}

/**
 * The URL, checked: `rediss:` (TLS) anywhere, plain `redis:` only on a loopback host (a store that
 * answers for replays must not be reachable by whoever sits on the network path).
 */
export function checkRedisUrl(value: unknown, option: string): URL {
  return checkUrlScheme(value, option, { secure: 'rediss', plain: 'redis' })
}

async function nodeRedis(option: string): Promise<NodeRedisPackage> {
  // A name in a variable: the package is optional, so the compiler must not require its types.
  const name = 'redis'
  try {
    return (await import(name)) as NodeRedisPackage
  } catch (err) {
    throw new ConfigError(option, 'needs the redis package (node-redis): npm install redis', { cause: err })
  }
}

/**
 * Connects to `url` (checked by {@link checkRedisUrl}); gives up after `connectTimeoutMs`. The
 * client has no offline queue: while Redis is unreachable a command fails at once, so requests are
 * refused (503) instead of waiting; node-redis reconnects meanwhile.
 * @throws ConfigError naming `option` when the package is missing or Redis cannot be reached
 */
export async function connectRedis(url: URL, option: string, connectTimeoutMs: number): Promise<RedisConnection> {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- a module's exported function, not a method
  const { createClient } = await nodeRedis(option)
  const client = createClient({ url: url.href, disableOfflineQueue: true, socket: { connectTimeout: connectTimeoutMs } })
  // Connection errors surface as refused requests (503, audited); without a listener they would end the process.
  client.on('error', () => undefined)
  let timer: ReturnType<typeof setTimeout> | undefined
  const gaveUp = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), connectTimeoutMs)
  })
  try {
    // node-redis retries a failed first connection forever: the time limit is ours.
    const connected = await Promise.race([client.connect().then(() => true), gaveUp])
    if (!connected) throw new Error(`no connection within ${connectTimeoutMs} ms`)
  } catch (err) {
    client.destroy()
    throw new ConfigError(option, `cannot connect to Redis at ${url.host}`, { cause: err })
  } finally {
    clearTimeout(timer)
  }
  return {
    client,
    close: () => client.destroy(),
  }
}
