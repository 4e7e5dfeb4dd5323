/**
 * docs/getting-started.md shows what the commands really print, checked without the network: the
 * page's two `meshguard init` commands, run in a scratch checkout layout, print the page's output
 * blocks verbatim and write the servers the page shows. test/install/getting-started.test.ts runs
 * the whole page (installs, servers, calls) against installed tarballs.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliInProcess } from '../support/run-cli.js'

const page = await readFile(new URL('../../docs/getting-started.md', import.meta.url), 'utf8')
const cliVersion = (JSON.parse(await readFile(new URL('../../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version

const meshguard = (argv: string[]): ReturnType<typeof runCliInProcess> => runCliInProcess(argv)

/** The fenced block right after `marker` (the `n`th such marker). */
const blockAfter = (marker: string, n = 0): string => {
  let at = -1
  for (let i = 0; i <= n; i++) at = page.indexOf(marker, at + 1)
  if (at < 0) throw new Error(`no ${marker} on the page`)
  return /```[a-z]*\n([\s\S]*?)```/.exec(page.slice(at))?.[1] ?? ''
}

const initCommands = [...page.matchAll(/^node packages\/cli\/bin\/meshguard\.js (init .+)$/gm)].map((m) => m[1] ?? '')
let work: string
const initRuns: Array<{ code: number | null; stdout: string; stderr: string }> = []

beforeAll(async () => {
  // The page runs init from the root of a checkout, with the tarballs in .tmp/packages.
  work = await mkdtemp(join(tmpdir(), 'meshguard-getting-started-'))
  const checkout = join(work, 'meshguard')
  await mkdir(join(checkout, '.tmp', 'packages'), { recursive: true })
  for (const name of ['core', 'express', 'fastify', 'nestjs', 'client', 'cli']) await writeFile(join(checkout, '.tmp', 'packages', `meshguard-${name}-${cliVersion}.tgz`), '')
  const cwd = process.cwd()
  process.chdir(checkout)
  try {
    for (const command of initCommands) initRuns.push(await meshguard(command.split(' ')))
  } finally {
    process.chdir(cwd)
  }
})
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true })
})

describe('docs/getting-started.md', () => {
  it('installs from tarballs made by a real root script', () => {
    expect(page).toContain('npx --yes pnpm@10.34.9 pack:all')
  })

  it('makes two services, the second calling the first', () => {
    expect(initCommands).toEqual(['init ../documents --packages .tmp/packages', 'init ../frontend --calls ../documents --packages .tmp/packages'])
  })

  it('quotes what each `meshguard init` prints, verbatim', () => {
    expect(initRuns.map((r) => r.code)).toEqual([0, 0])
    expect(initRuns[0]?.stdout).toBe(blockAfter('<!-- output -->', 0))
    expect(initRuns[1]?.stdout).toBe(blockAfter('<!-- output -->', 1))
  })

  it('shows the servers init writes, verbatim, and they depend on the tarballs', async () => {
    for (const service of ['documents', 'frontend']) {
      expect(await readFile(join(work, service, 'src', 'server.mjs'), 'utf8')).toBe(blockAfter(`<!-- init-server: ${service} -->`))
    }
    const manifest = JSON.parse(await readFile(join(work, 'frontend', 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(manifest.dependencies['@meshguard/client']).toBe(`file:${join(work, 'meshguard', '.tmp', 'packages', `meshguard-client-${cliVersion}.tgz`)}`)
  })

  it('quotes what `npm test` (meshguard compile policies) prints', async () => {
    for (const service of ['documents', 'frontend']) {
      const run = await meshguard(['compile', join(work, service, 'policies')])
      expect(run.code).toBe(0)
      expect(page).toContain(run.stdout)
    }
  })
})
