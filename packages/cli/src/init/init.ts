/**
 * `meshguard init DIR`: a new service outside any meshguard checkout, protected from its first
 * `npm run dev`: the scaffold's files, a development key for the calling workload and the local
 * development issuer, and the commands that show a 200, a 403 and a 401.
 */
import { copyFile, readdir, readFile, mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openDevIssuer } from '../dev-issuer.js'
import { write, UsageError, type CliIo } from '../io.js'
import { writeKeyPair } from '../keys.js'
import { ownKid, type Callee } from './caller-templates.js'
import { DEV_CALLER, DEV_CALLER_KID, FRAMEWORKS, type Framework } from './scaffold-basics.js'
import { curlSession, scaffoldFiles, workloadTrust, type ScaffoldSettings } from './templates.js'

const PACKAGES = ['core', 'express', 'fastify', 'nestjs', 'client', 'cli'] as const

/** This CLI's version: the scaffold depends on the matching @meshguard packages. */
async function ownVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}

/**
 * Dependency specifiers: `^<version>` from the registry, or with `--packages DIR` the tarballs
 * `scripts/pack.mjs` wrote there (`meshguard-core-0.1.0.tgz`, ...), as absolute `file:` paths.
 */
async function meshguardSpecifiers(packagesDir: string | undefined, framework: Framework, calls: boolean): Promise<ScaffoldSettings['meshguard']> {
  const version = await ownVersion()
  if (packagesDir === undefined) return Object.fromEntries(PACKAGES.map((p) => [p, `^${version}`])) as ScaffoldSettings['meshguard']
  const files = await readdir(packagesDir).catch(() => [] as string[])
  const specifiers: Partial<ScaffoldSettings['meshguard']> = {}
  for (const name of PACKAGES) {
    // The scaffold names core, its framework's adapter and the CLI; the other adapters need no tarball.
    if (name !== 'core' && name !== 'cli' && name !== framework && !(name === 'client' && calls)) continue
    const tarball = files.find((f) => f === `meshguard-${name}-${version}.tgz`)
    if (tarball === undefined) throw new UsageError(`init: --packages ${packagesDir} has no meshguard-${name}-${version}.tgz (make them with scripts/pack.mjs)`)
    specifiers[name] = `file:${resolve(packagesDir, tarball)}`
  }
  return specifiers as ScaffoldSettings['meshguard']
}

/** A package name npm accepts, from the directory name. */
const serviceName = (dir: string): string =>
  basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '') || 'my-service'

/** The service `init` made in `dir`, read back to be called by a new one. */
async function readCallee(dir: string): Promise<Callee> {
  const read = async (file: string): Promise<Record<string, unknown>> => {
    try {
      return JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>
    } catch {
      throw new UsageError(`init: --calls ${dir} is not a service made by meshguard init (no readable ${file})`)
    }
  }
  const { name } = await read('package.json')
  const { audience } = await read('config/trust.development.json')
  if (typeof name !== 'string' || typeof audience !== 'string') throw new UsageError(`init: --calls ${dir}: its package.json has no name or its development trust no audience`)
  return { name, id: audience, url: 'http://localhost:3000' }
}

/**
 * Lets the new service `name` (keys in `dir`) call the one in `calleeDir`: the callee's development
 * trust lists its public key, and the callee's policy lets its workload role read documents. Both
 * services share the callee's development issuer, as services share one identity provider.
 * @returns what was changed, for the printout
 */
async function connect(dir: string, name: string, calleeDir: string): Promise<string[]> {
  await mkdir(join(dir, '.meshguard', 'dev-issuer'), { recursive: true })
  for (const file of await readdir(join(calleeDir, '.meshguard', 'dev-issuer'))) {
    await copyFile(join(calleeDir, '.meshguard', 'dev-issuer', file), join(dir, '.meshguard', 'dev-issuer', file))
  }
  await mkdir(join(calleeDir, '.meshguard', 'keys', name), { recursive: true })
  await copyFile(join(dir, '.meshguard', 'keys', name, 'jwks.json'), join(calleeDir, '.meshguard', 'keys', name, 'jwks.json'))
  const trustFile = join(calleeDir, 'config', 'trust.development.json')
  const trust = JSON.parse(await readFile(trustFile, 'utf8')) as { trust: { workloads: Array<{ issuer: string }> } }
  const entry = workloadTrust(name)
  if (!trust.trust.workloads.some((w) => w.issuer === entry.issuer)) trust.trust.workloads.push(entry)
  await writeFile(trustFile, `${JSON.stringify(trust, null, 2)}\n`)
  const changed = [`config/trust.development.json trusts ${name}'s key (.meshguard/keys/${name}/jwks.json)`]
  const policyFile = join(calleeDir, 'policies', 'document.yaml')
  const policy = await readFile(policyFile, 'utf8').catch(() => '')
  const roles = /^(\s*roles: \[)([^\]]*)\]/m.exec(policy)
  if (roles && !roles[2]!.includes(`"${name}"`)) {
    await writeFile(policyFile, policy.replace(roles[0], `${roles[1]}${roles[2]}, "${name}"]`))
    changed.push(`policies/document.yaml lets the ${name} role read documents`)
  } else if (!roles) {
    changed.push(`add the role "${name}" to the rules of its policy that ${name} needs`)
  }
  return changed
}

/** Runs `meshguard init DIR [--framework express|fastify|nestjs] [--name NAME] [--packages DIR] [--calls DIR]`. */
export async function runInit(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { framework: { type: 'string', default: 'express' }, name: { type: 'string' }, packages: { type: 'string' }, calls: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  })
  const [dir] = positionals
  if (dir === undefined || positionals.length > 1) throw new UsageError('init: give one directory to create the service in')
  if (!(FRAMEWORKS as readonly string[]).includes(values.framework)) throw new UsageError(`init: --framework must be one of ${FRAMEWORKS.join(', ')}`)
  const name = values.name ?? serviceName(dir)
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new UsageError('init: --name must be lower case letters, digits and dashes')
  const existing = await readdir(dir).catch((err: unknown) => {
    if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return []
    throw err
  })
  if (existing.length > 0) throw new UsageError(`init: ${dir} is not empty`)

  const calls = values.calls === undefined ? undefined : await readCallee(values.calls)
  if (calls?.name === name) throw new UsageError(`init: the new service needs another name than ${calls.name}, the one it calls (--name)`)
  const framework = values.framework as Framework
  const settings: ScaffoldSettings = { name, framework, meshguard: await meshguardSpecifiers(values.packages, framework, calls !== undefined), calls }
  for (const [path, text] of Object.entries(scaffoldFiles(settings, dir))) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  await writeKeyPair(join(dir, '.meshguard', 'keys', DEV_CALLER), 'EdDSA', DEV_CALLER_KID)
  let connected = ''
  if (calls !== undefined && values.calls !== undefined) {
    await writeKeyPair(join(dir, '.meshguard', 'keys', name), 'EdDSA', ownKid(name))
    const changed = await connect(dir, name, values.calls)
    connected = `It calls ${calls.name} at ${calls.url}. Updated ${values.calls}:\n${changed.map((c) => `  - ${c}\n`).join('')}`
  } else {
    await openDevIssuer(join(dir, '.meshguard', 'dev-issuer'))
  }
  await write(
    io.stdout,
    `Created ${name} (${settings.framework}) in ${dir}, with development keys in ${join(dir, '.meshguard')}.\n${connected}\n${curlSession(dir, calls)}`,
  )
  return 0
}
