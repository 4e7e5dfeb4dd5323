/**
 * A small reader for protobuf text format, enough for the cel-spec `SimpleTestFile` data: nested
 * messages (`{}` or `<>`), scalars, `[a, b]` lists, extension names (`[type.googleapis.com/x.Y]`),
 * `#` comments and C-style string escapes. Every field is read as a list of values, because the
 * format does not say which fields repeat. Strings are kept as raw bytes; see {@link text}.
 */

/** A parsed message: field name → every value given for it. */
export interface TextMessage {
  readonly [field: string]: TextValue[]
}
/** A scalar is kept as written (number text, enum name, bytes of a string). */
export type TextValue = TextMessage | Uint8Array | string

type Token = { kind: 'punct' | 'word'; text: string } | { kind: 'string'; bytes: Uint8Array }

const encoder = new TextEncoder()

function readString(source: string, start: number): { bytes: number[]; end: number } {
  const quote = source[start]!
  const bytes: number[] = []
  let i = start + 1
  while (i < source.length && source[i] !== quote) {
    const ch = source[i]!
    if (ch !== '\\') {
      const cp = source.codePointAt(i)!
      bytes.push(...encoder.encode(String.fromCodePoint(cp)))
      i += cp > 0xffff ? 2 : 1
      continue
    }
    const next = source[i + 1]!
    i += 2
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '"': 34, "'": 39, '\\': 92, a: 7, b: 8, f: 12, v: 11, '?': 63 }
    if (next in simple) bytes.push(simple[next]!)
    else if (/[0-7]/.test(next)) {
      let digits = next
      while (digits.length < 3 && /[0-7]/.test(source[i] ?? '')) digits += source.charAt(i++)
      bytes.push(parseInt(digits, 8) & 0xff)
    } else if (next === 'x' || next === 'X') {
      let digits = ''
      while (digits.length < 2 && /[0-9a-fA-F]/.test(source[i] ?? '')) digits += source.charAt(i++)
      bytes.push(parseInt(digits, 16))
    } else if (next === 'u' || next === 'U') {
      const length = next === 'u' ? 4 : 8
      const cp = parseInt(source.slice(i, i + length), 16)
      i += length
      bytes.push(...encoder.encode(String.fromCodePoint(cp)))
    } else {
      throw new SyntaxError(`unknown escape \\${next} at ${i}`)
    }
  }
  return { bytes, end: i + 1 }
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = []
  let i = 0
  while (i < source.length) {
    const ch = source[i]!
    if (/\s/.test(ch)) {
      i++
    } else if (ch === '#') {
      while (i < source.length && source[i] !== '\n') i++
    } else if (ch === '"' || ch === "'") {
      const { bytes, end } = readString(source, i)
      // Adjacent string literals concatenate.
      const last = tokens[tokens.length - 1]
      if (last?.kind === 'string') last.bytes = new Uint8Array([...last.bytes, ...bytes])
      else tokens.push({ kind: 'string', bytes: new Uint8Array(bytes) })
      i = end
    } else if ('{}<>[]:,;'.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch })
      i++
    } else {
      const rest = source.slice(i)
      const match = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.])/.exec(rest) ?? /^[-+]?[\w./]+/.exec(rest)
      if (match === null) throw new SyntaxError(`unexpected character ${ch} at ${i}`)
      tokens.push({ kind: 'word', text: match[0] })
      i += match[0].length
    }
  }
  return tokens
}

class Parser {
  #pos = 0
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.#pos]
  }

  private next(): Token {
    const token = this.tokens[this.#pos++]
    if (token === undefined) throw new SyntaxError('unexpected end of input')
    return token
  }

  private isPunct(text: string): boolean {
    const token = this.peek()
    return token?.kind === 'punct' && token.text === text
  }

  message(close?: string): TextMessage {
    const fields: Record<string, TextValue[]> = {}
    while (this.peek() !== undefined && !(close !== undefined && this.isPunct(close))) {
      let name: string
      if (this.isPunct('[')) {
        this.next()
        name = `[${(this.next() as { text: string }).text}]`
        this.next() // ']'
      } else {
        const token = this.next()
        if (token.kind !== 'word') throw new SyntaxError('expected a field name')
        name = token.text
      }
      if (this.isPunct(':')) this.next()
      const values = (fields[name] ??= [])
      if (this.isPunct('[')) {
        this.next()
        while (!this.isPunct(']')) {
          values.push(this.value())
          if (this.isPunct(',')) this.next()
        }
        this.next()
      } else {
        values.push(this.value())
      }
      if (this.isPunct(',') || this.isPunct(';')) this.next()
    }
    if (close !== undefined) this.next()
    return fields
  }

  private value(): TextValue {
    if (this.isPunct('{')) {
      this.next()
      return this.message('}')
    }
    if (this.isPunct('<')) {
      this.next()
      return this.message('>')
    }
    const token = this.next()
    if (token.kind === 'string') return token.bytes
    if (token.kind === 'word') return token.text
    throw new SyntaxError(`unexpected ${token.text}`)
  }
}

/** Parses a text-format message. */
export function parseTextProto(source: string): TextMessage {
  return new Parser(tokenize(source)).message()
}

/** The first value of a field, if any. */
export function first(message: TextMessage, field: string): TextValue | undefined {
  return message[field]?.[0]
}

/** A string field's value decoded as UTF-8. */
export function text(value: TextValue | undefined): string | undefined {
  if (value instanceof Uint8Array) return new TextDecoder().decode(value)
  return typeof value === 'string' ? value : undefined
}

/** True when `value` is a nested message. */
export function isMessage(value: TextValue | undefined): value is TextMessage {
  return typeof value === 'object' && !(value instanceof Uint8Array)
}
