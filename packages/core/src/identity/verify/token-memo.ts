/**
 * Memos keyed by whole tokens, without hashing whole tokens. Every request brings new header
 * strings, and a Map keyed by such a string must hash all of it before it can answer (V8 spends
 * about ten instructions a character; a token is 500–1,000 characters). A token ends in its
 * signature, which differs for every token, so a hash of its last characters tells tokens apart as
 * well as a hash of all of them. Keys never decide anything: a hit compares the token in full, and
 * two tokens that share a key merely replace each other.
 */
import { Lru } from '../lru.js'

/** Characters of a token's end that go into its key: signature bytes of a valid token. */
const KEY_TAIL = 16

/** FNV-1a's offset basis: where every tail hash starts. */
const FNV_OFFSET = 0x811c9dc5

/** FNV-1a over the last {@link KEY_TAIL} characters of `value`, continuing from `hash`. */
export function mixTail(hash: number, value: string): number {
  for (let i = Math.max(0, value.length - KEY_TAIL); i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193)
  return hash
}

/** The key of one token: a hash of its end. */
export const tokenKey = (token: string): number => mixTail(FNV_OFFSET, token)

/** A bounded memo (least recently used out) of one value per exact token. */
export class TokenMemo<V> {
  private readonly entries: Lru<number, { readonly token: string; readonly value: V }>

  constructor(maxEntries: number) {
    this.entries = new Lru(maxEntries)
  }

  /** The value remembered for exactly `token`; `key` when the caller already has `tokenKey(token)`. */
  get(token: string, key: number = tokenKey(token)): V | undefined {
    const entry = this.entries.get(key)
    return entry !== undefined && entry.token === token ? entry.value : undefined
  }

  /** Remembers `value` for `token`, replacing whatever shared its key. */
  set(token: string, value: V, key: number = tokenKey(token)): void {
    this.entries.set(key, { token, value })
  }
}
