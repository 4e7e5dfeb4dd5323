/**
 * Waits for a server started as a child process to say where it listens (services print their
 * port when started with PORT=0), collecting what it printed; rejects if it exits first.
 */
import type { ChildProcess } from 'node:child_process'

/** Resolves to the first capture of `pattern` in the child's output (stdout and stderr) and the output so far. */
export function untilListening(child: ChildProcess, pattern: RegExp, name: string): Promise<{ port: string; printed: string }> {
  let printed = ''
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer): void => {
      printed += d.toString('utf8')
      const port = pattern.exec(printed)?.[1]
      if (port) resolve({ port, printed })
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    child.on('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${printed}`)))
  })
}
