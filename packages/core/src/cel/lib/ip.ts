/**
 * IP address and CIDR parsing shared by `inIPAddrRange` (Go `net.ParseIP` rules) and the cel-go
 * network extension (`net/netip` rules: no zones, no dotted IPv4 inside IPv6).
 */

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
export class IPAddress {
  constructor(readonly bytes: Uint8Array) {}

  get family(): 4 | 6 {
    return this.bytes.length === 4 ? 4 : 6
  }

  /** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), or this address. */
  unmapped(): IPAddress {
    const b = this.bytes
    if (b.length !== 16) return this
    for (let i = 0; i < 10; i++) if (b[i] !== 0) return this
    if (b[10] !== 0xff || b[11] !== 0xff) return this
    return new IPAddress(b.slice(12))
  }

  equals(other: IPAddress): boolean {
    const a = this.unmapped().bytes
    const b = other.unmapped().bytes
    return a.length === b.length && a.every((byte, i) => byte === b[i])
  }

  toString(): string {
    return this.bytes.length === 4 ? [...this.bytes].join('.') : formatIPv6(this.bytes)
  }
}

/** A parsed CIDR block: an address and a prefix length. */
export class CIDRBlock {
  constructor(
    readonly ip: IPAddress,
    readonly prefixLength: number,
  ) {}

  /** The block with every host bit cleared. */
  masked(): CIDRBlock {
    const bytes = this.ip.bytes.slice()
    for (let bit = this.prefixLength; bit < bytes.length * 8; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7))
    return new CIDRBlock(new IPAddress(bytes), this.prefixLength)
  }

  containsIP(address: IPAddress): boolean {
    const net = this.ip.bytes
    const ip = address.bytes
    if (net.length !== ip.length) return false
    for (let bit = 0; bit < this.prefixLength; bit++) {
      const mask = 0x80 >> (bit & 7)
      if ((net[bit >> 3]! & mask) !== (ip[bit >> 3]! & mask)) return false
    }
    return true
  }

  containsCIDR(other: CIDRBlock): boolean {
    return other.prefixLength >= this.prefixLength && this.containsIP(other.ip)
  }

  equals(other: CIDRBlock): boolean {
    const a = this.ip.bytes
    const b = other.ip.bytes
    return this.prefixLength === other.prefixLength && a.length === b.length && a.every((byte, i) => byte === b[i])
  }

  toString(): string {
    return `${this.ip.toString()}/${this.prefixLength}`
  }
}

function parseIPv4(text: string): Uint8Array | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  const bytes = new Uint8Array(4)
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!
    // Go rejects leading zeros (ambiguous octal) since 1.17.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return undefined
    const value = Number(part)
    if (value > 255) return undefined
    bytes[i] = value
  }
  return bytes
}

function parseIPv6(text: string, allowEmbeddedIPv4: boolean): Uint8Array | undefined {
  if (text.includes('%')) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':'))
  const head = groupsOf(halves[0]!)
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : []
  const words: number[] = []
  const all = [...head, ...tail]
  let embedded: Uint8Array | undefined
  const last = all[all.length - 1]
  if (last !== undefined && last.includes('.')) {
    if (!allowEmbeddedIPv4) return undefined
    embedded = parseIPv4(last)
    if (embedded === undefined) return undefined
    if (tail.length > 0) tail.pop()
    else head.pop()
  }
  const parseGroup = (group: string): number | undefined => (/^[0-9a-fA-F]{1,4}$/.test(group) ? parseInt(group, 16) : undefined)
  const wordsNeeded = embedded ? 6 : 8
  const headWords = head.map(parseGroup)
  const tailWords = tail.map(parseGroup)
  if ([...headWords, ...tailWords].some((w) => w === undefined)) return undefined
  if (halves.length === 2) {
    const zeros = wordsNeeded - headWords.length - tailWords.length
    if (zeros < 1) return undefined
    words.push(...(headWords as number[]), ...new Array<number>(zeros).fill(0), ...(tailWords as number[]))
  } else {
    if (headWords.length !== wordsNeeded) return undefined
    words.push(...(headWords as number[]))
  }
  const bytes = new Uint8Array(16)
  words.forEach((word, i) => {
    bytes[i * 2] = word >> 8
    bytes[i * 2 + 1] = word & 0xff
  })
  if (embedded) bytes.set(embedded, 12)
  return bytes
}

/** RFC 5952 text form: lower case, the longest run (2+ groups) of zero groups compressed. */
function formatIPv6(bytes: Uint8Array): string {
  const words: number[] = []
  for (let i = 0; i < 16; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!)
  let bestStart = -1
  let bestLength = 1
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > bestLength) {
      bestStart = i
      bestLength = j - i
    }
    i = j
  }
  const hex = (ws: number[]): string => ws.map((w) => w.toString(16)).join(':')
  if (bestStart < 0) return hex(words)
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLength))}`
}

/**
 * The network extension's rules (as in Cerbos 0.55): IPv4 or IPv6 text, no zone, no dotted IPv4
 * tail inside IPv6, and no IPv4-mapped IPv6 address (`::ffff:c0a8:1`).
 */
export function parseStrictIP(text: string): IPAddress | undefined {
  const bytes = text.includes(':') ? parseIPv6(text, false) : parseIPv4(text)
  if (bytes === undefined) return undefined
  const address = new IPAddress(bytes)
  return address.unmapped() === address ? address : undefined
}

/** `net.ParseIP` rules (Cerbos `inIPAddrRange`): IPv6 may end in a dotted IPv4 address. */
export function parseLenientIP(text: string): IPAddress | undefined {
  const bytes = text.includes(':') ? parseIPv6(text, true) : parseIPv4(text)
  return bytes && new IPAddress(bytes)
}

function parsePrefix(text: string, parse: (t: string) => IPAddress | undefined): CIDRBlock | undefined {
  const slash = text.lastIndexOf('/')
  if (slash < 0) return undefined
  const ip = parse(text.slice(0, slash))
  const bits = text.slice(slash + 1)
  if (ip === undefined || !/^(0|[1-9][0-9]{0,2})$/.test(bits)) return undefined
  const prefixLength = Number(bits)
  if (prefixLength > ip.bytes.length * 8) return undefined
  return new CIDRBlock(ip, prefixLength)
}

/** `net/netip.ParsePrefix` rules. */
export function parseStrictCIDR(text: string): CIDRBlock | undefined {
  return parsePrefix(text, parseStrictIP)
}

/** `net.ParseCIDR` rules: the network address (host bits cleared), IPv4-mapped addresses as IPv4. */
export function parseLenientCIDR(text: string): CIDRBlock | undefined {
  const block = parsePrefix(text, parseLenientIP)
  return block?.masked()
}
