/**
 * docs/cli.md documents the whole CLI: every command in the CLI's own help text (`meshguard help`)
 * is in the page's synopsis with every option the help gives it, and has a section of its own;
 * every option is explained in the page's prose too, not only listed.
 */
import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { USAGE } from '../../packages/cli/src/index.js'

const page = await readFile(new URL('../../docs/cli.md', import.meta.url), 'utf8')

/** Commands of the help text with their options: a command line is indented two spaces; its continuation lines eight. */
function helpCommands(): Map<string, string[]> {
  const commands = new Map<string, string[]>()
  let current: string | undefined
  for (const line of USAGE.slice(USAGE.indexOf('Commands:')).split('\n').slice(1)) {
    const start = /^ {2}([a-z][a-z-]*)(?: |$)/.exec(line)
    if (start) {
      current = start[1]!
      commands.set(current, [])
    }
    // Usage lines are the command line and its continuations (indented more, starting with an option or argument).
    if (current !== undefined && (start || /^ {7,}\[?-/.test(line))) {
      commands.get(current)!.push(...[...line.matchAll(/--[a-z][a-z-]*/g)].map((m) => m[0]))
    }
  }
  return commands
}

const synopsis = /```\n(meshguard [\s\S]*?)```/.exec(page)?.[1] ?? ''
const prose = page.replace(synopsis, '')

describe('docs/cli.md against `meshguard help`', () => {
  const commands = helpCommands()

  it('reads the commands from the help text', () => {
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['check', 'compile', 'init', 'token', 'user-token', 'help']))
  })

  it.each([...commands.keys()])('the synopsis has `meshguard %s` with every option the help gives it', (command) => {
    const line = synopsis.split('\n').find((l) => l === `meshguard ${command}` || l.startsWith(`meshguard ${command} `))
    expect(line, `meshguard ${command} in the synopsis`).toBeDefined()
    for (const option of commands.get(command) ?? []) expect(line, `${command} ${option}`).toContain(option)
  })

  it.each([...commands.keys()].filter((c) => c !== 'help'))('`%s` has a section, and its options are explained', (command) => {
    expect(page).toMatch(new RegExp(`^## .*\`${command}\``, 'm'))
    for (const option of commands.get(command) ?? []) expect(prose, `${command} ${option}`).toContain(option)
  })
})
