import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const pkg = (name: string): string => fileURLToPath(new URL(`./packages/${name}/src/index.ts`, import.meta.url))
const core = (file: string): string => fileURLToPath(new URL(`./packages/core/src/${file}`, import.meta.url))

// Tests import workspace packages from source, so a test run never depends on a stale build.
// test/package checks the built output separately.
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@meshguard\/core$/, replacement: pkg('core') },
      { find: /^@meshguard\/core\/(node|adapter|testing)$/, replacement: core('$1.ts') },
      { find: /^@meshguard\/core\/remote$/, replacement: core('remote/index.ts') },
      { find: /^@meshguard\/core\/telemetry$/, replacement: core('telemetry-names.ts') },
      { find: /^@meshguard\/(express|fastify|nestjs)\/testing$/, replacement: fileURLToPath(new URL('./packages/$1/src/testing.ts', import.meta.url)) },
      { find: /^@meshguard\/core\/txn-tokens$/, replacement: core('txn-tokens.ts') },
      { find: /^@meshguard\/core\/wimse$/, replacement: core('wimse.ts') },
      { find: /^@meshguard\/express$/, replacement: pkg('express') },
      { find: /^@meshguard\/fastify$/, replacement: pkg('fastify') },
      { find: /^@meshguard\/nestjs$/, replacement: pkg('nestjs') },
      { find: /^@meshguard\/client$/, replacement: pkg('client') },
      { find: /^@meshguard\/kysely$/, replacement: pkg('kysely') },
      { find: /^@meshguard\/txn-token-service$/, replacement: pkg('txn-token-service') },
    ],
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default', './scripts/summary-reporter.ts'],
  },
})
