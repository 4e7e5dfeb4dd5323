/**
 * Starts one sample service in its own process through the demo's child launcher
 * (examples/demo/src/child.mjs), the way the demo runs it: review-service trusting one generated
 * employee-service key (one nothing here signs with), with its audit records in a file.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const LAUNCHER = fileURLToPath(new URL('../../examples/demo/src/child.mjs', import.meta.url))

/**
 * Launches review-service; `config` adds to (or replaces) the service configuration, e.g.
 * `policyDir` or `audit`. The child reads its request from stdin, which is then closed.
 */
export function launchReviewService(auditFile: string, config: Record<string, unknown> = {}): ChildProcess {
  const caller = generateKeyPairSync('ed25519')
  const own = generateKeyPairSync('ed25519')
  const request = {
    service: 'review-service',
    auditFile,
    config: {
      signingKey: own.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      kid: 'review-1',
      trust: {
        workloads: [
          {
            issuer: 'spiffe://meshguard.example/ns/hr/sa/employee-service',
            keys: { jwks: { keys: [{ ...caller.publicKey.export({ format: 'jwk' }), kid: 'employees-1', alg: 'EdDSA', use: 'sig' }] } },
          },
        ],
      },
      ...config,
    },
  }
  const child = spawn(process.execPath, [LAUNCHER], { stdio: ['pipe', 'pipe', 'pipe'] })
  child.stdin.end(JSON.stringify(request))
  return child
}
