/**
 * The `meshguard` command: dispatches to a subcommand and turns failures into exit codes
 * (0 ok, 1 failure, 2 usage). Policy errors print `file:line:col: message`; nothing prints a stack.
 */
import { PolicyError, formatPolicyIssue, toMeshguardError } from '@meshguard/core'
import { runCheck } from './check.js'
import { runCompile } from './compile.js'
import { runDigest } from './digest.js'
import { runExplain } from './explain.js'
import { runShadow } from './shadow.js'
import { write, UsageError, type CliIo } from './io.js'
import { runKeys, runToken } from './keys.js'
import { runPlan } from './plan.js'
import { runUserToken } from './user-token.js'
import { runInit } from './init/init.js'
import { runTts } from './tts.js'
import { runRoutes } from './routes.js'

/** The help text. */
export const USAGE = `Usage: meshguard <command> [options]

Commands:
  check --policies DIR [--globals JSON] [--lenient-scope-search]
        [--schema-enforcement none|warn|reject]
      Read CheckResources requests (Cerbos HTTP API JSON) one per line on stdin and write one
      Cerbos HTTP API response per line on stdout. A bad line gets an error line, not an exit.
      auxData.jwt.token is decoded WITHOUT signature verification (PDP disableVerification).
      Conditions that failed to evaluate are reported on stderr, one line each.
  plan --policies DIR [--globals JSON] [--lenient-scope-search]
       [--schema-enforcement none|warn|reject]
      Read PlanResources requests (Cerbos HTTP API JSON) one per line on stdin and write one
      Cerbos HTTP API response (a query plan) per line on stdout, like check.
  explain --policies DIR [--request FILE] [--json] [--globals JSON] [--lenient-scope-search]
        [--schema-enforcement none|warn|reject]
      Read one CheckResources request (Cerbos HTTP API JSON) from FILE or stdin and print why
      each action got its effect: the rules considered (+ held, - did not, ! failed to
      evaluate), the values each condition read, the derived roles, and the rule that decided.
  shadow --policies CANDIDATE_DIR [--log FILE] [--globals JSON] [--lenient-scope-search]
         [--schema-enforcement none|warn|reject]
      Replay a recorded audit log (JSON lines, from FILE or stdin) against the candidate
      policies and print every decision they would have made otherwise, then a summary.
  compile DIR [--skip-tests] [--tests REGEXP] [--output table|json]
      Compile the policies in DIR (errors as file:line:col), then run the policy test suites
      (*_test.yaml) found there. Exits 1 on any compile error or failed test.
  digest DIR
      Print the sha256 digest of the policy set in DIR.
  init DIR [--framework express|fastify|nestjs] [--name NAME] [--packages TARBALL_DIR]
       [--calls SERVICE_DIR]
      Create a new service in DIR: a server with one protected route, a policy and its tests,
      development keys and trust, a dev script, and the commands that call it. With --calls,
      its route calls the service init made in SERVICE_DIR through @meshguard/client, and that
      service is set up to trust it.
  keys --out DIR [--alg EdDSA|ES256] [--kid KID]
      (development) Make a workload signing key pair: DIR/<kid>.key.pem and DIR/jwks.json.
  token --key FILE --kid KID --id SPIFFE_ID --aud AUDIENCE [--actor TOKEN|FILE]
        [--claims JSON] [--lifetime SECONDS]
      (development) Mint a workload token (typ workload+jwt) signed with that key; with --actor,
      bound to that actor token (ath claim), so the pair passes an actor: 'required' route.
  user-token --issuer-dir DIR --sub SUB [--role ROLE]... [--attr KEY=VALUE]... [--agent]
        [--aud AUDIENCE] [--lifetime SECONDS]
      (development) Mint a user (or, with --agent, AI agent) access token from the local
      development issuer in DIR (created on first use). Trusted only where a service's
      development trust configuration lists it.
  routes MODULE [--export NAME] [--json] [--fail-unguarded]
      Import MODULE (a .js/.mjs file exporting an Express app or router, a Fastify instance or a
      Nest application, or a function returning one; default export, else \`app\`) and print its
      route table: method, path, guard, resource, action, actor, scope. --fail-unguarded exits 1
      when a route has no policy check and no public marker. The module must not listen.
  tts --config FILE [--port PORT] [--host HOST]
      Run the Txn-Token Service (token exchange for txntoken+jwt) with the JSON configuration in
      FILE until SIGINT/SIGTERM. SIGHUP reloads its policies and rotates in a new first signing key.
  help
      Show this text.
`

const COMMANDS: Record<string, (args: readonly string[], io: CliIo) => Promise<number>> = {
  check: runCheck,
  compile: runCompile,
  digest: runDigest,
  explain: runExplain,
  keys: runKeys,
  init: runInit,
  plan: runPlan,
  routes: runRoutes,
  shadow: runShadow,
  token: runToken,
  tts: runTts,
  'user-token': runUserToken,
}

/** Runs the CLI with `argv` (without `node` and the script); resolves to the exit code. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  const [command, ...args] = argv
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    await write(command === undefined ? io.stderr : io.stdout, USAGE)
    return command === undefined ? 2 : 0
  }
  const run = COMMANDS[command]
  if (run === undefined) {
    await write(io.stderr, `meshguard: unknown command ${JSON.stringify(command)}\n\n${USAGE}`)
    return 2
  }
  try {
    return await run(args, io)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: unknown }).code?.toString().startsWith('ERR_PARSE_ARGS')) {
      await write(io.stderr, `meshguard: ${(err as Error).message}\n\n${USAGE}`)
      return 2
    }
    if (err instanceof PolicyError) {
      await write(io.stderr, `${err.issues.map(formatPolicyIssue).join('\n')}\n`)
      return 1
    }
    const error = toMeshguardError(err)
    const detail = error.code === 'ERR_AUTHZ_INTERNAL' && err instanceof Error ? `: ${err.message}` : ''
    await write(io.stderr, `meshguard: ${error.code} (${error.reason}): ${error.message}${detail}\n`)
    return 1
  }
}
