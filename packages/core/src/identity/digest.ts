import { hash } from 'node:crypto'

/**
 * base64url(sha256(value)): how tokens appear in audit records and in the `ath` binding claim.
 * Tokens are ASCII, so the UTF-8 bytes hashed are the token's characters. One-shot `hash` (no Hash
 * object per call): a new workload token is digested on every request that brings one.
 */
export function sha256Base64url(value: string): string {
  return hash('sha256', value, 'base64url')
}
