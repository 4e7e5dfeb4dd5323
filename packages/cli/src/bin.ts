#!/usr/bin/env node
import { main } from './main.js'

// A closed pipe (`meshguard check ... | head`) ends the run quietly instead of crashing on EPIPE.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0)
  throw err
})

// exitCode (not process.exit) so piped stdout is flushed before the process ends.
void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code
})
