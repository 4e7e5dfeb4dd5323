// The part of curl the `meshguard init` session uses (`-s`, `-o /dev/null`, `-w '%{http_code}\n'`,
// `-H 'name: value'`, a URL), so the test runs the printed session verbatim on machines without curl.
// Without `-o` the body is printed, then the `-w` text.
const args = process.argv.slice(2)
const headers = {}
let url
let format = ''
let discard = false
for (let i = 0; i < args.length; i++) {
  const arg = args[i]
  if (arg === '-H') {
    const header = args[++i]
    const colon = header.indexOf(':')
    headers[header.slice(0, colon).trim().toLowerCase()] = header.slice(colon + 1).trim()
  } else if (arg === '-w') format = args[++i]
  else if (arg === '-o') discard = args[++i] === '/dev/null'
  else if (arg === '-s') continue
  else if (arg.startsWith('-')) throw new Error(`curl shim: unsupported option ${arg}`)
  else url = arg
}
const response = await fetch(url, { headers })
const body = await response.text()
if (!discard) process.stdout.write(body)
process.stdout.write(format.replace('%{http_code}', String(response.status)).replace('\\n', '\n'))
