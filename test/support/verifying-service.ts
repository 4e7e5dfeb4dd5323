/**
 * A loopback HTTP service that verifies every request with an identity verifier and answers JSON:
 * the handler's result (run inside `callerContext`) with 200, or the error's status and reason.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { callerContext } from '../../packages/core/src/context/index.js'
import { MeshguardError } from '../../packages/core/src/errors.js'
import type { IdentityVerifier } from '../../packages/core/src/identity/index.js'
import type { HeaderView } from '../../packages/core/src/identity/headers.js'
import type { ActorRequirement } from '../../packages/core/src/identity/verify/types.js'

/** What the service does for a verified request. */
export type VerifiedHandler = (req: IncomingMessage) => Promise<unknown>

/** Starts the service on 127.0.0.1 and a free port; close `server` when done. */
export async function startVerifyingService(
  verifier: IdentityVerifier,
  handler: VerifiedHandler,
  actor: ActorRequirement = 'required',
): Promise<{ url: string; server: Server }> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    verifier
      .verify(req.headersDistinct as HeaderView, { actor })
      .then((caller) => callerContext.run(caller, () => handler(req)))
      .then(
        (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
        (err: unknown) => {
          const status = err instanceof MeshguardError ? err.httpStatus : 500
          const reason = err instanceof MeshguardError ? err.reason : 'internal'
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ reason }))
        },
      )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}
