import { createHash } from 'node:crypto'
import { mkdtemp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { ConfigError, PolicyError } from '../../src/errors.js'
import { policyInfo, watchPolicies, type PolicyWatcher, type ReloadEvent } from '../../src/reload/index.js'
import type { CheckResourcesResponse, DecisionEngine } from '../../src/types.js'

/** A stand-in engine: the "policy set" is the concatenated text of the directory's files. */
class TextEngine implements DecisionEngine {
  readonly kind = 'embedded' as const
  policyDigest: string | undefined
  set = ''
  swap(set: string): void {
    this.set = set
    this.policyDigest = createHash('sha256').update(set).digest('hex')
  }
  checkResources(): Promise<CheckResourcesResponse> {
    return Promise.reject(new Error('not used'))
  }
}

/** Loads every file; a file containing "BROKEN" fails like a bad policy would. */
async function loadText(dir: string): Promise<string> {
  const names = (await readdir(dir, { recursive: true })).filter((n) => n.endsWith('.yaml')).sort()
  const texts = await Promise.all(names.map(async (name) => [name, await readFile(join(dir, name), 'utf8')] as const))
  const broken = texts.find(([, text]) => text.includes('BROKEN'))
  if (broken) throw new PolicyError([{ file: broken[0], line: 1, message: 'broken policy' }])
  return texts.map(([name, text]) => `${name}=${text}`).join('\n')
}

const dirs: string[] = []
const watchers: PolicyWatcher[] = []
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.close()))
})
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
})

async function policyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mg-reload-'))
  dirs.push(dir)
  await mkdir(join(dir, 'resources'))
  await writeFile(join(dir, 'resources', 'a.yaml'), 'v1')
  return dir
}

/** Resolves with the next reload event matching `predicate`. */
function nextEvent(events: ReloadEvent[], predicate: (e: ReloadEvent) => boolean): Promise<ReloadEvent> {
  return new Promise((resolve) => {
    const start = events.length
    const timer = setInterval(() => {
      const found = events.slice(start).find(predicate)
      if (found) {
        clearInterval(timer)
        resolve(found)
      }
    }, 5)
  })
}

describe('watchPolicies', () => {
  it('validates options', async () => {
    const dir = await policyDir()
    expect(() => watchPolicies(new TextEngine(), dir, { load: 'not a function' as never })).toThrow(ConfigError)
    expect(() => watchPolicies(new TextEngine(), dir, { load: loadText, debounceMs: -1 })).toThrow(/debounceMs/)
    expect(() => watchPolicies(new TextEngine(), dir, { load: loadText, poll: { intervalMs: 0 } })).toThrow(/poll.intervalMs/)
  })

  it('reloads programmatically, reports digest changes and the load time', async () => {
    const dir = await policyDir()
    const engine = new TextEngine()
    const reloads: string[] = []
    const watcher = watchPolicies(engine, dir, {
      load: loadText,
      telemetry: { recordReload: (outcome) => reloads.push(outcome) },
    })
    watchers.push(watcher)
    const first = await watcher.reload()
    expect(first).toMatchObject({ ok: true, previousDigest: undefined, changed: true })
    expect(engine.set).toContain('v1')
    const same = await watcher.reload()
    expect(same).toMatchObject({ ok: true, changed: false })
    const info = policyInfo(engine)
    expect(info).toMatchObject({ digest: engine.policyDigest, engine: 'embedded' })
    expect(info.loadedAt).toBe(same.at.toISOString())
    expect(reloads).toEqual(['success', 'success'])
  })

  it('keeps the last good set when a reload fails and reports the PolicyError', async () => {
    const dir = await policyDir()
    const engine = new TextEngine()
    const reloads: string[] = []
    const watcher = watchPolicies(engine, dir, {
      load: loadText,
      telemetry: { recordReload: (outcome, errorType) => reloads.push(`${outcome}:${errorType ?? ''}`) },
    })
    watchers.push(watcher)
    await watcher.reload()
    const good = engine.policyDigest
    await writeFile(join(dir, 'resources', 'a.yaml'), 'BROKEN')
    const failed = await watcher.reload()
    expect(failed.ok).toBe(false)
    if (failed.ok) return
    expect(failed.error).toBeInstanceOf(PolicyError)
    if (!(failed.error instanceof PolicyError)) throw new Error('expected a PolicyError')
    expect(failed.error.issues[0]).toMatchObject({ file: join('resources', 'a.yaml'), line: 1 })
    expect(failed.digest).toBe(good)
    expect(engine.policyDigest).toBe(good)
    expect(engine.set).toContain('v1')
    expect(watcher.lastEvent).toBe(failed)
    expect(reloads.at(-1)).toBe('failure:ERR_AUTHZ_POLICY_INVALID')
  })

  it('turns a non-policy failure into a coded error', async () => {
    const dir = await policyDir()
    const watcher = watchPolicies(new TextEngine(), dir, {
      load: () => {
        throw new TypeError('boom')
      },
    })
    watchers.push(watcher)
    const event = await watcher.reload()
    expect(event.ok).toBe(false)
    if (!event.ok) expect(event.error.code).toBe('ERR_AUTHZ_INTERNAL')
  })

  it('shares one reload between callers in the same tick, and queues one for callers during a reload', async () => {
    const dir = await policyDir()
    let loads = 0
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const engine = new TextEngine()
    const watcher = watchPolicies(engine, dir, {
      load: async (d) => {
        const text = await loadText(d)
        loads++
        if (loads === 1) await gate
        return text
      },
    })
    watchers.push(watcher)
    const [a, b] = [watcher.reload(), watcher.reload()]
    expect(a).toBe(b)
    // Wait until the first reload has read the files, then change them and ask again.
    while (loads === 0) await new Promise((resolve) => setImmediate(resolve))
    await writeFile(join(dir, 'resources', 'a.yaml'), 'v2')
    const [c, d] = [watcher.reload(), watcher.reload()]
    expect(c).toBe(d)
    expect(c).not.toBe(a)
    release()
    const first = await a
    const second = await c
    expect(loads).toBe(2)
    // The queued reload saw the change the running one had missed.
    expect(engine.set).toContain('a.yaml=v2')
    expect(second.ok && first.ok && second.previousDigest === first.digest && second.changed).toBe(true)
  })

  it.each([['watch', undefined], ['poll', { intervalMs: 20 }]] as const)(
    'picks up file changes in nested directories (%s mode)',
    async (mode, poll) => {
      const dir = await policyDir()
      const engine = new TextEngine()
      const events: ReloadEvent[] = []
      const watcher = watchPolicies(engine, dir, { load: loadText, debounceMs: 10, poll, onReload: (e) => events.push(e) })
      watchers.push(watcher)
      expect(watcher.mode).toBe(mode)
      await watcher.reload()
      const changed = nextEvent(events, (e) => e.ok && engine.set.includes('v2'))
      await writeFile(join(dir, 'resources', 'a.yaml'), 'v2')
      await changed
      const rejected = nextEvent(events, (e) => !e.ok)
      await writeFile(join(dir, 'resources', 'b.yaml'), 'BROKEN')
      await rejected
      expect(engine.set).toContain('v2')
      const recovered = nextEvent(events, (e) => e.ok)
      await rm(join(dir, 'resources', 'b.yaml'))
      await recovered
    },
  )

  it('sees files replaced by rename again and again, and files in new subdirectories', async () => {
    const dir = await policyDir()
    const staging = await mkdtemp(join(tmpdir(), 'mg-reload-staging-'))
    dirs.push(staging)
    const engine = new TextEngine()
    const events: ReloadEvent[] = []
    const watcher = watchPolicies(engine, dir, { load: loadText, debounceMs: 5, onReload: (e) => events.push(e) })
    watchers.push(watcher)
    await watcher.reload()
    for (const version of ['r1', 'r2', 'r3', 'r4']) {
      const live = nextEvent(events, () => engine.set.includes(`a.yaml=${version}`))
      await writeFile(join(staging, version), version)
      await rename(join(staging, version), join(dir, 'resources', 'a.yaml'))
      await live
    }
    // A new directory is watched by the time the reload its creation triggers has run.
    const afterMkdir = nextEvent(events, () => true)
    await mkdir(join(dir, 'resources', 'team'))
    await afterMkdir
    const nested = nextEvent(events, () => engine.set.includes('deep.yaml=nested'))
    await writeFile(join(dir, 'resources', 'team', 'deep.yaml'), 'nested')
    await nested
  })

  it('stops reacting after close()', async () => {
    const dir = await policyDir()
    const events: ReloadEvent[] = []
    const watcher = watchPolicies(new TextEngine(), dir, { load: loadText, debounceMs: 5, onReload: (e) => events.push(e) })
    await watcher.close()
    await writeFile(join(dir, 'resources', 'a.yaml'), 'v3')
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(events).toHaveLength(0)
  })
})
