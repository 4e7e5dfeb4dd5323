#!/usr/bin/env node
import { main } from './main.js'

// exitCode (not process.exit) so piped stdout is flushed before the process ends.
void main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then((code) => {
  process.exitCode = code
})
