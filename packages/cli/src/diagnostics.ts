/**
 * How `meshguard compile` shows policy problems: each as `file:line:col: path: message`, then its
 * source line with a caret under the column; an issue that only follows from another (a role
 * unknown because its import is missing) is listed under that one, not counted on its own.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { formatPolicyIssue, type PolicyIssue } from '@meshguard/core'
import { codeFrame } from './code-frame.js'

/** Reads each policy file once, for its code frames; an unreadable file just has none. */
function sourceReader(dir: string): (file: string) => Promise<string | undefined> {
  const texts = new Map<string, Promise<string | undefined>>()
  return (file) => {
    let text = texts.get(file)
    if (text === undefined) {
      text = readFile(join(dir, file), 'utf8').catch(() => undefined)
      texts.set(file, text)
    }
    return text
  }
}

const indent = (text: string, by: string): string =>
  text
    .split('\n')
    .map((line) => `${by}${line}`)
    .join('\n')

/**
 * Formats issues found in the policy directory `dir` (their files are relative to it).
 *
 * @param label - printed after the location (`warning`), or nothing for errors
 * @returns the text to print, and how many issues stand on their own
 */
export async function formatDiagnostics(dir: string, issues: readonly PolicyIssue[], label?: string): Promise<{ text: string; count: number }> {
  const source = sourceReader(dir)
  const roots = issues.filter((issue) => issue.causedBy === undefined || !issues.includes(issue.causedBy))
  const blocks: string[] = []
  for (const issue of roots) {
    const message = [label, issue.path, issue.message].filter((part) => part !== undefined).join(': ')
    const lines = [formatPolicyIssue({ ...issue, file: join(dir, issue.file), path: undefined, message })]
    const text = issue.line !== undefined ? await source(issue.file) : undefined
    const frame = text !== undefined && issue.line !== undefined ? codeFrame(text, issue.line, issue.column ?? 1) : ''
    if (frame !== '') lines.push(indent(frame, '  '))
    for (const consequence of issues.filter((other) => other.causedBy === issue)) {
      const at = consequence.line !== undefined ? `${consequence.line}:${consequence.column ?? 1}: ` : ''
      lines.push(`  because of it: ${at}${consequence.message}`)
    }
    blocks.push(lines.join('\n'))
  }
  return { text: blocks.length === 0 ? '' : `${blocks.join('\n\n')}\n`, count: roots.length }
}
