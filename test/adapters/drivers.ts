/** What each contract driver returns: a server on 127.0.0.1 and how to stop it. */
import type { RouteRequirement } from '@meshguard/core/adapter'
import type { Server } from 'node:http'

/** A running contract app. */
export interface RunningApp {
  /** e.g. `http://127.0.0.1:40123` */
  url: string
  close(): Promise<void>
  /** The app's route table, as its adapter's `/testing` helper lists it. */
  routes?: (() => RouteRequirement[]) | undefined
}

/** The URL of a server listening on loopback. */
export function urlOf(server: Server): string {
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('server is not listening on TCP')
  return `http://127.0.0.1:${address.port}`
}

/** Stops a Node server, dropping idle keep-alive connections so close() does not wait for them. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()))
    server.closeAllConnections()
  })
}
