// Lint: typescript-eslint's strictTypeChecked (typed: floating and misused promises, unsafe any, needless
// conditions) on every TypeScript file, plus the rules that matter in auth code; plain JS keeps the untyped set.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'coverage/**', '.tmp/**'] },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [...tseslint.configs.strictTypeChecked],
    languageOptions: {
      parserOptions: {
        // Sources resolve to their package's tsconfig, tests to the test/ tsconfigs beside them;
        // the two loose root files get the default project.
        projectService: { allowDefaultProject: ['vitest.config.ts', 'scripts/*.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      // Numbers (and bigints) and booleans print unambiguously; nullish, objects and any still must be made strings on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // noUncheckedIndexedAccess types every in-bounds index as `T | undefined`; `!` there is the measured,
      // check-free form on the request path (bounds are proven by the loop), so the rule would only add runtime checks.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // A void call returned from a void (or MaybePromise<void>) function is how the sync-or-async request path hands results back.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true }],
      // `async` without `await` is how an interface method that must return a promise turns a throw into a rejection.
      '@typescript-eslint/require-await': 'off',
      // Caught errors are unknown; rethrowing one unchanged is right.
      '@typescript-eslint/only-throw-error': ['error', { allowThrowingUnknown: true }],
      // Empty classes are CEL type tags, decorated ones are NestJS modules.
      '@typescript-eslint/no-extraneous-class': ['error', { allowEmpty: true, allowWithDecorator: true }],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    extends: [...tseslint.configs.recommended],
    languageOptions: {
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', AbortController: 'readonly', fetch: 'readonly', performance: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', queueMicrotask: 'readonly', setImmediate: 'readonly' },
    },
  },
)
