import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

import { createIdentityVerifier, MeshguardError, type IdentityVerifierOptions } from '@meshguard/core'

/** What a verifying callee saw: the verified identity, or why it refused. */
export type CalleeView =
  | { ok: true; workload: string; actor: string | undefined; chain: string[]; transactionId: string; authorization: string }
  | { ok: false; reason: string }

/** A loopback callee that verifies meshguard credentials with core's verifier and records the outcome. */
export async function startVerifyingServer(options: IdentityVerifierOptions): Promise<{
  origin: string
  seen: CalleeView[]
  close(): Promise<void>
}> {
  const verifier = createIdentityVerifier(options)
  const seen: CalleeView[] = []
  const server = createServer((req, res) => {
    req.resume()
    verifier.verify(req.headersDistinct as Record<string, string[]>, { actor: 'optional' }).then(
      (caller) => {
        seen.push({
          ok: true,
          workload: caller.workload.id,
          actor: caller.actor?.id,
          chain: caller.delegation.workloads,
          transactionId: caller.transactionId,
          authorization: req.headers.authorization ?? '',
        })
        res.writeHead(200).end('ok')
      },
      (err: unknown) => {
        seen.push({ ok: false, reason: err instanceof MeshguardError ? err.reason : 'unexpected' })
        res.writeHead(401).end()
      },
    )
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((err) => (err ? reject(err) : resolve()))
      }),
  }
}
