/**
 * `meshguard init DIR`: a new service outside any meshguard checkout, protected from its first
 * `npm run dev`: the scaffold's files, a development key for the calling workload and the local
 * development issuer, and the commands that show a 200, a 403 and a 401.
 */
import { readdir, readFile, mkdir, writeFile } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { openDevIssuer } from '../dev-issuer.js'
import { write, UsageError, type CliIo } from '../io.js'
import { writeKeyPair } from '../keys.js'
import { curlSession, DEV_CALLER, DEV_CALLER_KID, FRAMEWORKS, scaffoldFiles, type Framework, type ScaffoldSettings } from './templates.js'

const PACKAGES = ['core', 'express', 'fastify', 'nestjs', 'cli'] as const

/** This CLI's version: the scaffold depends on the matching @meshguard packages. */
async function ownVersion(): Promise<string> {
  const manifest = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return manifest.version
}

/**
 * Dependency specifiers: `^<version>` from the registry, or with `--packages DIR` the tarballs
 * `scripts/pack.mjs` wrote there (`meshguard-core-0.1.0.tgz`, ...), as absolute `file:` paths.
 */
async function meshguardSpecifiers(packagesDir: string | undefined, framework: Framework): Promise<ScaffoldSettings['meshguard']> {
  const version = await ownVersion()
  if (packagesDir === undefined) return Object.fromEntries(PACKAGES.map((p) => [p, `^${version}`])) as ScaffoldSettings['meshguard']
  const files = await readdir(packagesDir).catch(() => [] as string[])
  const specifiers: Partial<ScaffoldSettings['meshguard']> = {}
  for (const name of PACKAGES) {
    // The scaffold names core, its framework's adapter and the CLI; the other adapters need no tarball.
    if (name !== 'core' && name !== 'cli' && name !== framework) continue
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

/** Runs `meshguard init DIR [--framework express|fastify|nestjs] [--name NAME] [--packages DIR]`. */
export async function runInit(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: { framework: { type: 'string', default: 'express' }, name: { type: 'string' }, packages: { type: 'string' } },
    allowPositionals: true,
    strict: true,
  })
  const [dir] = positionals
  if (dir === undefined || positionals.length > 1) throw new UsageError('init: give one directory to create the service in')
  if (!(FRAMEWORKS as readonly string[]).includes(values.framework)) throw new UsageError(`init: --framework must be one of ${FRAMEWORKS.join(', ')}`)
  const name = values.name ?? serviceName(dir)
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new UsageError('init: --name must be lower case letters, digits and dashes')
  const existing = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return []
    throw err
  })
  if (existing.length > 0) throw new UsageError(`init: ${dir} is not empty`)

  const settings: ScaffoldSettings = { name, framework: values.framework as Framework, meshguard: await meshguardSpecifiers(values.packages, values.framework as Framework) }
  for (const [path, text] of Object.entries(scaffoldFiles(settings, dir))) {
    await mkdir(dirname(join(dir, path)), { recursive: true })
    await writeFile(join(dir, path), text)
  }
  await writeKeyPair(join(dir, '.meshguard', 'keys', DEV_CALLER), 'EdDSA', DEV_CALLER_KID)
  await openDevIssuer(join(dir, '.meshguard', 'dev-issuer'))
  await write(
    io.stdout,
    `Created ${name} (${settings.framework}) in ${dir}, with development keys in ${join(dir, '.meshguard')}.\n\n${curlSession(dir)}`,
  )
  return 0
}
