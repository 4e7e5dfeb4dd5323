// Packs every publishable package into tarballs, as they would be published: `pnpm pack` replaces
// `workspace:` ranges with the real versions. Usage: `pnpm pack:all [--out DIR]` (default
// .tmp/packages). Install them anywhere with `npm install <DIR>/meshguard-core-<version>.tgz ...`.
// Expects a build (`pnpm pack:all` runs `tsc -b` first); refuses a package without its dist/.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'

const root = fileURLToPath(new URL('..', import.meta.url))
const { values } = parseArgs({ options: { out: { type: 'string', default: join(root, '.tmp', 'packages') } } })
const out = resolve(values.out)
mkdirSync(out, { recursive: true })

// pnpm itself: the running one when started by pnpm, else the version package.json pins, through npx.
const pinned = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).packageManager
const execPath = process.env.npm_execpath
const pnpm = execPath && /pnpm/.test(execPath) ? [process.execPath, execPath] : ['npx', '--yes', pinned]

const tarballs = []
for (const dir of readdirSync(join(root, 'packages')).sort()) {
  const pkgDir = join(root, 'packages', dir)
  const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'))
  if (manifest.private) continue
  if (!existsSync(join(pkgDir, 'dist', 'index.js'))) throw new Error(`${manifest.name} is not built: run tsc -b first`)
  const [command, ...args] = pnpm
  execFileSync(command, [...args, 'pack', '--pack-destination', out], { cwd: pkgDir, stdio: ['ignore', 'ignore', 'inherit'] })
  const file = `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`
  // A published manifest must not name the workspace protocol: no registry resolves it.
  const packed = execFileSync('tar', ['-xzOf', join(out, file), 'package/package.json'], { encoding: 'utf8' })
  if (packed.includes('workspace:')) throw new Error(`${file}: package.json still has a workspace: range`)
  tarballs.push(join(out, file))
}
console.log(tarballs.join('\n'))
