/**
 * `@meshguard/cli`: the `meshguard` command (check, compile, digest, init, keys, tokens). The bin is
 * `bin/meshguard.js` (it runs `dist/bin.js`); the functions below run the same commands in-process.
 *
 * @packageDocumentation
 */
export { main, USAGE } from './main.js'
export type { CliIo } from './io.js'
export { readCheckRequest, toHttpResponse, toHttpResult } from './cerbos-http.js'
export type { HttpCheckRequest } from './cerbos-http.js'
