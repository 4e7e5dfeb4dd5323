import { createHash } from 'node:crypto'

/** base64url(sha256(value)): how tokens appear in audit records and in the `ath` binding claim. */
export function sha256Base64url(value: string): string {
  return createHash('sha256').update(value, 'ascii').digest('base64url')
}
