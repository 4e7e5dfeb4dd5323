import type { Environment } from '@marcbachmann/cel-js'
import { invalidArgument } from '../values.js'
import { STRING_CONVERSION } from './conversions.js'
import { CIDRBlock, IPAddress, parseStrictCIDR, parseStrictIP } from './ip.js'

function ip(text: string): IPAddress {
  return parseStrictIP(text) ?? invalidArgument(`IP Address '${text}' parse error during conversion from string`)
}

function cidr(text: string): CIDRBlock {
  return parseStrictCIDR(text) ?? invalidArgument(`network address parse error during conversion from string: ${text}`)
}

function isLoopback(a: IPAddress): boolean {
  const b = a.unmapped().bytes
  return b.length === 4 ? b[0] === 127 : b.every((x, i) => x === (i === 15 ? 1 : 0))
}

function isUnspecified(a: IPAddress): boolean {
  return a.bytes.every((x) => x === 0)
}

function isMulticast(a: IPAddress): boolean {
  const b = a.unmapped().bytes
  return b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff
}

function isLinkLocalMulticast(a: IPAddress): boolean {
  const b = a.unmapped().bytes
  return b.length === 4 ? b[0] === 224 && b[1] === 0 && b[2] === 0 : b[0] === 0xff && (b[1]! & 0x0f) === 0x02
}

function isLinkLocalUnicast(a: IPAddress): boolean {
  const b = a.unmapped().bytes
  return b.length === 4 ? b[0] === 169 && b[1] === 254 : b[0] === 0xfe && (b[1]! & 0xc0) === 0x80
}

function isGlobalUnicast(a: IPAddress): boolean {
  const b = a.unmapped().bytes
  const broadcast = b.length === 4 && b.every((x) => x === 255)
  return !broadcast && !isUnspecified(a) && !isLoopback(a) && !isMulticast(a) && !isLinkLocalUnicast(a)
}

class IPNamespace {}

/** Registers cel-go's network extension (`ip()`, `cidr()`, `isIP`, `isCIDR` and their methods). */
export function registerNetwork(env: Environment): void {
  env.registerType('net.IP', IPAddress)
  env.registerType('net.CIDR', CIDRBlock)
  env.registerFunction('ip(string): net.IP', ip)
  env.registerFunction('cidr(string): net.CIDR', cidr)
  env.registerFunction('isIP(string): bool', (t: string) => parseStrictIP(t) !== undefined)
  env.registerFunction('isCIDR(string): bool', (t: string) => parseStrictCIDR(t) !== undefined)
  env.registerType('IPNamespace', IPNamespace)
  env.registerConstant('ip', 'IPNamespace', new IPNamespace())
  env.registerFunction('IPNamespace.isCanonical(string): bool', (_: unknown, t: string) => ip(t).toString() === t)
  env.registerFunction(`${STRING_CONVERSION}(net.IP): string`, (a: IPAddress) => a.toString())
  env.registerFunction(`${STRING_CONVERSION}(net.CIDR): string`, (c: CIDRBlock) => c.toString())
  env.registerOperator('net.IP == net.IP', (a: IPAddress, b: IPAddress) => a.equals(b))
  env.registerOperator('net.CIDR == net.CIDR', (a: CIDRBlock, b: CIDRBlock) => a.equals(b))
  env.registerFunction('net.IP.family(): int', (a: IPAddress) => BigInt(a.family))
  env.registerFunction('net.IP.isUnspecified(): bool', isUnspecified)
  env.registerFunction('net.IP.isLoopback(): bool', isLoopback)
  env.registerFunction('net.IP.isLinkLocalMulticast(): bool', isLinkLocalMulticast)
  env.registerFunction('net.IP.isLinkLocalUnicast(): bool', isLinkLocalUnicast)
  env.registerFunction('net.IP.isGlobalUnicast(): bool', isGlobalUnicast)
  env.registerFunction('net.CIDR.containsIP(net.IP): bool', (c: CIDRBlock, a: IPAddress) => c.containsIP(a))
  env.registerFunction('net.CIDR.containsIP(string): bool', (c: CIDRBlock, a: string) => c.containsIP(ip(a)))
  env.registerFunction('net.CIDR.containsCIDR(net.CIDR): bool', (c: CIDRBlock, o: CIDRBlock) => c.containsCIDR(o))
  env.registerFunction('net.CIDR.containsCIDR(string): bool', (c: CIDRBlock, o: string) => c.containsCIDR(cidr(o)))
  env.registerFunction('net.CIDR.ip(): net.IP', (c: CIDRBlock) => c.ip)
  env.registerFunction('net.CIDR.masked(): net.CIDR', (c: CIDRBlock) => c.masked())
  env.registerFunction('net.CIDR.prefixLength(): int', (c: CIDRBlock) => BigInt(c.prefixLength))
  // True when the address part is the network address itself (no host bits set).
  env.registerFunction('net.CIDR.isMask(): bool', (c: CIDRBlock) => c.masked().equals(c))
}
