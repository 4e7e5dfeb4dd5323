// Type-checks every test tree (vitest strips types without checking them): test/ and each package's
// test/, each against its own tsconfig. Exits non-zero, with tsc's output, if any has an error.
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const projects = [
  join(root, 'test', 'tsconfig.json'),
  ...readdirSync(join(root, 'packages')).map((name) => join(root, 'packages', name, 'test', 'tsconfig.json')),
].filter((path) => existsSync(path))

/** Runs tsc on one project; resolves to its output when it reports errors, to '' when clean. */
function check(project) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, '-p', project, '--noEmit', '--pretty', 'false'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let output = ''
    child.stdout.on('data', (chunk) => (output += chunk))
    child.stderr.on('data', (chunk) => (output += chunk))
    child.on('error', reject)
    child.on('close', (code) => resolve(code === 0 ? '' : output || `tsc exited with ${code}`))
  })
}

// Two at a time: each tsc is single-threaded, and CI machines have two cores.
const failures = []
const queue = [...projects]
await Promise.all(
  [0, 1].map(async () => {
    for (let project = queue.shift(); project !== undefined; project = queue.shift()) {
      const output = await check(project)
      if (output !== '') failures.push(`${relative(root, project)}\n${output}`)
    }
  }),
)
if (failures.length > 0) {
  console.error(failures.join('\n'))
  process.exit(1)
}
console.log(`typecheck: ${projects.length} test projects, no errors`)
