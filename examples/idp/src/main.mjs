// Runs the sample IdP on its own: `node examples/idp/src/main.mjs` (Ctrl-C stops it).
import { startIdp } from './idp.mjs'

const idp = await startIdp({ port: Number(process.env.PORT ?? 0) })
console.log(`issuer   ${idp.issuer}\njwks     ${idp.jwksUri}\ntoken    ${idp.tokenEndpoint}`)
const stop = () => void idp.close().then(() => process.exit(0))
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
