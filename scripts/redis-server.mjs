// A real redis-server for the tests and benchmarks of the shared replay store, on loopback only.
//
//   node scripts/redis-server.mjs install   installs the Debian package `redis-server` when missing
//                                            (apt-get, non-interactive; CI runs as root); exits 1 loudly
//                                            when it cannot, so a test run never skips Redis silently
//
// Tests import `startRedisServer()`: a private server on 127.0.0.1 and a free port, no persistence,
// stopped with `stop()`.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { pathToFileURL } from 'node:url'

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server', '/usr/sbin/redis-server']

/** The path of redis-server, or undefined when it is not installed. */
export function findRedisServer() {
  const found = CANDIDATES.find((path) => existsSync(path))
  if (found !== undefined) return found
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * Installs redis-server with apt-get when it is missing, and returns its path.
 * @throws Error saying why (not root, no apt-get, the install failed)
 */
export function installRedisServer() {
  const present = findRedisServer()
  if (present !== undefined) return present
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error('redis-server is not installed and this process is not root: run `apt-get install redis-server` (the replay-store tests need it)')
  }
  if (!existsSync('/usr/bin/apt-get')) throw new Error('redis-server is not installed and apt-get is not available to install it')
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  const apt = (args) => execFileSync('apt-get', args, { env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 600_000 })
  try {
    apt(['install', '-y', '-q', '--no-install-recommends', 'redis-server'])
  } catch {
    // A fresh machine may not have package lists yet.
    apt(['update', '-q'])
    apt(['install', '-y', '-q', '--no-install-recommends', 'redis-server'])
  }
  const installed = findRedisServer()
  if (installed === undefined) throw new Error('apt-get installed redis-server, but the binary is not on this machine')
  return installed
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (server.address())
      server.close(() => resolve(port))
    })
  })
}

/**
 * Starts a private redis-server on 127.0.0.1 (installing it first when missing).
 * @returns {Promise<{ url: string, port: number, stop: () => Promise<void> }>}
 */
export async function startRedisServer() {
  const binary = installRedisServer()
  const port = await freePort()
  const child = spawn(binary, ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  const ready = new Promise((resolve, reject) => {
    const onData = (chunk) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve(undefined)
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)))
    child.once('error', reject)
  })
  await ready
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await exited
      }
    },
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] !== 'install') {
    console.error('usage: node scripts/redis-server.mjs install')
    process.exit(2)
  }
  try {
    console.log(`redis-server: ${installRedisServer()}`)
  } catch (err) {
    console.error(`redis-server: ${err instanceof Error ? err.message : String(err)}`)
    process.exit(1)
  }
}
