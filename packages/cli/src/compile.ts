/**
 * `meshguard compile DIR`: compiles the policies (every error printed as `file:line:col: message`
 * with its source line and a caret, warnings likewise), then runs the policy test suites found
 * there and prints a result table. Exit 1 on any compile error, failed or errored test; this is the
 * command for CI.
 */
import { parseArgs } from 'node:util'
import { PolicyError, loadPolicyDirectory } from '@meshguard/core'
import { embeddedTestEngines, formatTestResults, runPolicyTests } from '@meshguard/core/testing'
import { formatDiagnostics } from './diagnostics.js'
import { write, UsageError, type CliIo } from './io.js'

/** Runs `meshguard compile`; resolves to the exit code. */
export async function runCompile(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      'skip-tests': { type: 'boolean', default: false },
      output: { type: 'string', default: 'table' },
      tests: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  })
  const [dir, ...extra] = positionals
  if (dir === undefined || extra.length > 0) throw new UsageError('compile: expected exactly one policy directory')
  if (values.output !== 'table' && values.output !== 'json') throw new UsageError('compile: --output must be table or json')

  let set
  try {
    set = await loadPolicyDirectory(dir)
  } catch (err) {
    if (!(err instanceof PolicyError)) throw err
    const errors = await formatDiagnostics(dir, err.issues)
    await write(io.stderr, `${errors.text}\n${errors.count} compile error(s)\n`)
    return 1
  }
  if (set.warnings.length > 0) {
    const warnings = await formatDiagnostics(dir, set.warnings, 'warning')
    await write(io.stderr, `${warnings.text}\n${warnings.count} warning(s)\n`)
  }
  if (values['skip-tests']) {
    await write(io.stdout, 'Policies compiled; tests skipped\n')
    return 0
  }
  const results = await runPolicyTests(dir, {
    engine: embeddedTestEngines(set),
    filter: values.tests !== undefined ? { includedTestNamesRegexp: values.tests } : undefined,
  })
  if (values.output === 'json') await write(io.stdout, `${JSON.stringify(results, null, 2)}\n`)
  else if (results.suites.length === 0) await write(io.stdout, 'Policies compiled; no test suites found\n')
  else await write(io.stdout, formatTestResults(results))
  const overall = results.summary.overallResult
  return overall === 'RESULT_FAILED' || overall === 'RESULT_ERRORED' ? 1 : 0
}
