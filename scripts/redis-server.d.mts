// Types of redis-server.mjs for the TypeScript tests that import it.

/** The path of redis-server, or undefined when it is not installed. */
export declare function findRedisServer(): string | undefined

/** Installs redis-server with apt-get when it is missing, and returns its path (throws saying why it cannot). */
export declare function installRedisServer(): string

/** A private redis-server on 127.0.0.1. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>` */
  url: string
  port: number
  /** Stops the server and waits until it has exited. */
  stop: () => Promise<void>
}

/** Starts a private redis-server on 127.0.0.1 (installing it first when missing). */
export declare function startRedisServer(): Promise<RedisServer>
