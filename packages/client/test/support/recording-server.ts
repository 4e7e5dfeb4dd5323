import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request as the server saw it. */
export interface RecordedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
}

/** A loopback HTTP server that records every request and answers with a swappable handler. */
export interface RecordingServer {
  readonly origin: string
  readonly requests: RecordedRequest[]
  respond(handler: (req: IncomingMessage, res: ServerResponse) => void): void
  close(): Promise<void>
}

const ok = (_req: IncomingMessage, res: ServerResponse): void => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
}

/** Starts a recording server on 127.0.0.1 with an OS-chosen port. */
export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: RecordedRequest[] = []
  let handler = ok
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers } })
    req.resume()
    req.on('end', () => handler(req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    respond(next) {
      handler = next
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}

/** A handler answering every request with a redirect to `location`. */
export const redirectTo =
  (location: string, status = 302) =>
  (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { location }).end()
  }
