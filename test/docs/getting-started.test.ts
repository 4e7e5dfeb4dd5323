/**
 * docs/getting-started.md shows what the commands really print: the page's `meshguard init`
 * command, run in a scratch checkout layout, prints the page's output block verbatim, writes the
 * server the page shows, and the scaffold's `npm test` (meshguard compile) prints the page's table.
 * test/install/init.test.ts then runs that printed session against installed tarballs.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCliInProcess } from '../support/run-cli.js'

const page = await readFile(new URL('../../docs/getting-started.md', import.meta.url), 'utf8')
const cliVersion = (JSON.parse(await readFile(new URL('../../packages/cli/package.json', import.meta.url), 'utf8')) as { version: string }).version

const meshguard = (argv: string[]): ReturnType<typeof runCliInProcess> => runCliInProcess(argv)

/** The fenced block right after `marker`. */
const blockAfter = (marker: string): string => {
  const at = page.indexOf(marker)
  if (at < 0) throw new Error(`no ${marker} on the page`)
  return /```[a-z]*\n([\s\S]*?)```/.exec(page.slice(at))?.[1] ?? ''
}

let work: string
let initRun: { code: number; stdout: string; stderr: string }

beforeAll(async () => {
  // The page runs init from the root of a checkout, with the tarballs in .tmp/packages.
  work = await mkdtemp(join(tmpdir(), 'meshguard-getting-started-'))
  const checkout = join(work, 'meshguard')
  await mkdir(join(checkout, '.tmp', 'packages'), { recursive: true })
  for (const name of ['core', 'express', 'fastify', 'nestjs', 'client', 'cli']) await writeFile(join(checkout, '.tmp', 'packages', `meshguard-${name}-${cliVersion}.tgz`), '')
  const command = /^node packages\/cli\/bin\/meshguard\.js (init .+)$/m.exec(page)?.[1]
  expect(command).toBeDefined()
  const cwd = process.cwd()
  process.chdir(checkout)
  try {
    initRun = await meshguard((command ?? '').split(' '))
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

  it('quotes what `meshguard init` prints, verbatim', () => {
    expect(initRun.code).toBe(0)
    expect(initRun.stdout).toBe(blockAfter('<!-- init-output -->'))
  })

  it('shows the server init writes, verbatim, and it depends on the tarballs', async () => {
    const dir = join(work, 'my-service')
    expect(await readFile(join(dir, 'src', 'server.mjs'), 'utf8')).toBe(blockAfter('<!-- init-server: express -->'))
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(manifest.dependencies['@meshguard/core']).toBe(`file:${join(work, 'meshguard', '.tmp', 'packages', `meshguard-core-${cliVersion}.tgz`)}`)
  })

  it('quotes what `npm test` (meshguard compile policies) prints', async () => {
    const run = await meshguard(['compile', join(work, 'my-service', 'policies')])
    expect(run.code).toBe(0)
    expect(page).toContain(run.stdout.replaceAll(join(work, 'my-service', 'policies') + '/', ''))
  })
})
