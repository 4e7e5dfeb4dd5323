/**
 * Starts the real Cerbos PDP (the `@cerbos/cerbos-linux-x64` binary, Cerbos 0.55) on loopback for tests:
 * differential tests use it as the oracle, the remote engine and the adapters use it as a live PDP.
 *
 * Every PDP runs in its own process group with a generated config (disk store, no audit, no file watch)
 * and free ports on 127.0.0.1. `stop()` kills the whole group; a process `exit` hook does the same if a
 * test run dies before its `afterAll`.
 *
 * @example
 * ```ts
 * let pdp: CerbosPdp
 * beforeAll(async () => { pdp = await startCerbosPdp({ policyDir: storeDir }) })
 * afterAll(async () => { await pdp?.stop() })
 * ```
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Absolute path of the Cerbos binary installed by `@cerbos/cerbos-linux-x64` (override with `CERBOS_BINARY`). */
export const CERBOS_BINARY: string =
  process.env['CERBOS_BINARY'] ??
  fileURLToPath(new URL('../../node_modules/@cerbos/cerbos-linux-x64/cerbos-linux-x64', import.meta.url))

/** How to configure the PDP. Defaults match Cerbos's own defaults. */
export interface CerbosPdpOptions {
  /** Policy directory served by the disk store. */
  policyDir: string
  /** `schema.enforcement`. @defaultValue `'none'` */
  schemaEnforcement?: 'none' | 'warn' | 'reject' | undefined
  /** `engine.lenientScopeSearch`. @defaultValue `false` */
  lenientScopeSearch?: boolean | undefined
  /** `engine.globals`, visible to policies as `G` / `globals`. @defaultValue `{}` */
  globals?: Record<string, unknown> | undefined
  /** `engine.defaultPolicyVersion`. @defaultValue `'default'` */
  defaultPolicyVersion?: string | undefined
  /** How long to wait for the health endpoint to report `SERVING`. @defaultValue `60000` (a loaded machine can take that long to compile the conformance store) */
  startupTimeoutMs?: number | undefined
}

/** A running PDP. */
export interface CerbosPdp {
  /** Base URL of the HTTP API, e.g. `http://127.0.0.1:41234` (POST `/api/check/resources`). */
  readonly httpUrl: string
  /** `host:port` of the gRPC API, for `new GRPC(grpcAddress, { tls: false })` from `@cerbos/grpc`. */
  readonly grpcAddress: string
  /** Process id of the PDP (also its process group id). */
  readonly pid: number
  /** Kills the PDP's process group and removes its temp config. Safe to call twice. */
  stop(): Promise<void>
}

const running = new Set<ChildProcess>()
let exitHookInstalled = false

/** Last-chance cleanup: a dying test worker must not leave PDPs behind. */
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  process.once('exit', () => {
    for (const child of running) killGroup(child, 'SIGKILL')
  })
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    // Already gone.
  }
}

/** Asks the OS for a free loopback port. A tiny race remains until the PDP binds it; startup retries cover it. */
async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })
}

function configFor(options: CerbosPdpOptions, httpPort: number, grpcPort: number): Record<string, unknown> {
  return {
    server: {
      httpListenAddr: `127.0.0.1:${httpPort}`,
      grpcListenAddr: `127.0.0.1:${grpcPort}`,
    },
    engine: {
      defaultPolicyVersion: options.defaultPolicyVersion ?? 'default',
      lenientScopeSearch: options.lenientScopeSearch ?? false,
      globals: options.globals ?? {},
    },
    schema: { enforcement: options.schemaEnforcement ?? 'none' },
    audit: { enabled: false },
    auxData: { jwt: { disableVerification: true } },
    telemetry: { disabled: true },
    storage: { driver: 'disk', disk: { directory: options.policyDir, watchForChanges: false } },
  }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function waitUntilServing(httpUrl: string, child: ChildProcess, timeoutMs: number, log: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`Cerbos PDP exited during startup (code ${child.exitCode ?? child.signalCode}):\n${log()}`)
    }
    try {
      const response = await fetch(`${httpUrl}/_cerbos/health`, { signal: AbortSignal.timeout(1000) })
      const body = (await response.json()) as { status?: string }
      if (body.status === 'SERVING') return
    } catch {
      // Not listening yet.
    }
    await delay(50)
  }
  throw new Error(`Cerbos PDP not serving after ${timeoutMs} ms:\n${log()}`)
}

async function startOnce(options: CerbosPdpOptions): Promise<CerbosPdp> {
  const [httpPort, grpcPort] = [await freePort(), await freePort()]
  const workDir = await mkdtemp(join(tmpdir(), 'meshguard-cerbos-'))
  const configPath = join(workDir, 'cerbos.json')
  // JSON is valid YAML, which is what Cerbos reads.
  await writeFile(configPath, JSON.stringify(configFor(options, httpPort, grpcPort), null, 2))

  const child = spawn(CERBOS_BINARY, ['server', `--config=${configPath}`, '--log-level=warn'], {
    detached: true, // own process group, so stop() can kill everything it started
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: workDir,
  })
  running.add(child)
  installExitHook()
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-8000)
  }
  child.stdout.on('data', keep)
  child.stderr.on('data', keep)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    killGroup(child, 'SIGTERM')
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000)
    await exited
    clearTimeout(timer)
    running.delete(child)
    await rm(workDir, { recursive: true, force: true })
  }

  const httpUrl = `http://127.0.0.1:${httpPort}`
  try {
    await waitUntilServing(httpUrl, child, options.startupTimeoutMs ?? 60_000, () => output)
  } catch (err) {
    await stop()
    throw err
  }
  return { httpUrl, grpcAddress: `127.0.0.1:${grpcPort}`, pid: child.pid ?? -1, stop }
}

/**
 * Starts a Cerbos PDP serving `options.policyDir` and resolves once its health endpoint says `SERVING`.
 * Retries twice if the chosen ports were taken in the meantime. The caller must `stop()` it (in `afterAll`).
 *
 * @throws Error when the binary is missing or the PDP fails to start (the message includes its log).
 */
export async function startCerbosPdp(options: CerbosPdpOptions): Promise<CerbosPdp> {
  if (!existsSync(CERBOS_BINARY)) throw new Error(`Cerbos binary not found at ${CERBOS_BINARY}`)
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options)
    } catch (err) {
      lastError = err
      if (!/address already in use/i.test(String(err))) break
    }
  }
  throw lastError
}
