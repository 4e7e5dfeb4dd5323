/**
 * `meshguard tts --config FILE`: runs the Txn-Token Service standalone until SIGINT/SIGTERM.
 * SIGHUP reloads the issuance policies (the last good set stays on failure) and, when the first
 * signing key in the file has a new kid, rotates it in (published now, signing after the delay);
 * the same for the first WIT signing key when the WIT issuer is on. With a `sharedState` section the
 * replicas share used `jti`s and replacement counts in Redis (connected at start-up, closed at exit).
 */
import { parseArgs } from 'node:util'
import { ConfigError, toMeshguardError } from '@meshguard/core'
import type * as TxnTokenServicePackage from '@meshguard/txn-token-service'
import type { LoadedTxnTokenServiceConfig } from '@meshguard/txn-token-service'
import { write, UsageError, type CliIo } from './io.js'

/** The service package, an optional peer: only `meshguard tts` needs it. */
async function txnTokenService(): Promise<typeof TxnTokenServicePackage> {
  try {
    return await import('@meshguard/txn-token-service')
  } catch (err) {
    throw new ConfigError('tts', 'needs the @meshguard/txn-token-service package: npm install @meshguard/txn-token-service', { cause: err })
  }
}

/** Runs `meshguard tts`; resolves to the exit code when the process is told to stop. */
export async function runTts(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { config: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } },
    strict: true,
  })
  if (values.config === undefined) throw new UsageError('tts: --config FILE is required')
  const configFile = values.config
  const { loadTxnTokenServiceConfig } = await txnTokenService()
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) throw new UsageError('tts: --port must be a port number')
  const loaded = await loadTxnTokenServiceConfig(configFile)
  try {
    return await serve(loaded, { port: port ?? loaded.listen.port, host: values.host ?? loaded.listen.host }, configFile, io)
  } finally {
    loaded.disconnect()
  }
}

/** Serves a loaded configuration until SIGINT/SIGTERM; reloads on SIGHUP. */
async function serve(loaded: LoadedTxnTokenServiceConfig, at: { port: number; host: string }, configFile: string, io: CliIo): Promise<number> {
  const { createTxnTokenService, readSigningKeys, readWitSigningKeys } = await txnTokenService()
  const service = createTxnTokenService(loaded.options)
  const sharedAt = loaded.sharedStateAt
  await write(io.stderr, sharedAt === undefined ? 'meshguard tts: state per process (run one replica, or configure sharedState)\n' : `meshguard tts: state shared in Redis at ${sharedAt}\n`)
  const url = await service.listen(at.port, at.host)
  await write(io.stderr, `meshguard tts: issuer ${service.issuer}, trust domain ${service.trustDomain}, listening on ${url}\n`)
  if (service.wit !== undefined) await write(io.stderr, `meshguard tts: issuing WITs at ${service.wit.endpoint}\n`)

  let signingKid = loaded.signingKeys[0]?.kid
  let witSigningKid = loaded.witSigningKeys?.[0]?.kid
  const reload = async (): Promise<void> => {
    try {
      const engine = loaded.options.engine as { reload?: () => Promise<unknown> }
      await engine.reload?.()
      const [first] = readSigningKeys(configFile)
      if (first !== undefined && first.kid !== signingKid) {
        service.rotateKey(first)
        signingKid = first.kid
      }
      const [firstWit] = service.wit === undefined ? [] : (readWitSigningKeys(configFile) ?? [])
      if (firstWit !== undefined && firstWit.kid !== witSigningKid) {
        service.wit?.rotateKey(firstWit)
        witSigningKid = firstWit.kid
      }
      await write(io.stderr, 'meshguard tts: reloaded\n')
    } catch (err) {
      await write(io.stderr, `meshguard tts: reload failed, keeping the running configuration: ${toMeshguardError(err).message}\n`)
    }
  }
  const onHangup = (): void => void reload()
  process.on('SIGHUP', onHangup)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  process.off('SIGHUP', onHangup)
  await service.close()
  await loaded.options.audit?.close()
  return 0
}
