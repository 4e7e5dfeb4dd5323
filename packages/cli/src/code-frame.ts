/**
 * A code frame for a located problem: the source line with its number and a caret under the
 * column, as compilers print it.
 */

/**
 * The lines of `text` around `line`:`column` (both 1-based) with a `^` under the column.
 *
 * @param text - the whole file
 * @param line - 1-based line of the problem
 * @param column - 1-based column (a caret is put under it; clamped to the line)
 * @param context - lines shown before the problem line (default 0)
 * @returns the frame, lines joined by `\n`, without a final newline; empty when the line is not in the text
 * @example
 * ```ts
 * codeFrame('a: 1\nb: [\n', 2, 4)
 * // '2 | b: [\n  |    ^'
 * ```
 */
export function codeFrame(text: string, line: number, column: number, context = 0): string {
  const lines = text.split(/\r?\n/)
  const source = lines[line - 1]
  if (source === undefined || line < 1) return ''
  const first = Math.max(1, line - context)
  const width = String(line).length
  const out: string[] = []
  for (let n = first; n <= line; n++) out.push(`${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`)
  // Tabs before the column stay tabs, so the caret lines up however a terminal renders them.
  const col = Math.min(Math.max(column, 1), source.length + 1)
  const pad = source.slice(0, col - 1).replace(/[^\t]/g, ' ')
  out.push(`${' '.repeat(width)} | ${pad}^`)
  return out.join('\n')
}
