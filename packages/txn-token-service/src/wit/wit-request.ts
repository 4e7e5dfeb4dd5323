/**
 * The issuance request body: JSON `{ attestation_type, attestation, proof, roles? }`, every member
 * checked before any token is looked at. Unknown members are refused, so a request cannot carry
 * claims it hopes the issuer copies.
 */
import { WIT_ATTESTATION_TYPES, type WitAttestationType } from '@meshguard/core/wimse'
import { refuse } from '../errors.js'
import { printable } from '../form.js'
import { ownMember } from '../plain-data.js'
import { checkCompactToken } from '../request.js'

/** A checked issuance request. */
export interface WitRequest {
  readonly attestationType: WitAttestationType
  readonly attestation: string
  readonly proof: string
  /** Roles asked for; undefined: every role the policy grants. */
  readonly roles: readonly string[] | undefined
}

const MEMBERS = new Set(['attestation_type', 'attestation', 'proof', 'roles'])
const TYPES: ReadonlySet<string> = new Set(Object.values(WIT_ATTESTATION_TYPES))
const MAX_ROLES = 32

/** The JSON body of a request (bounded in size by the caller). */
export function parseJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body))
  } catch (err) {
    throw refuse.request('body_malformed', 'the body must be a JSON object', err)
  }
}

/** Checks a parsed request. */
export function parseWitRequest(parsed: unknown, maxTokenBytes: number): WitRequest {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse.request('body_malformed', 'the body must be a JSON object')
  const members = parsed as Record<string, unknown>
  for (const name of Object.keys(members)) {
    if (!MEMBERS.has(name)) throw refuse.request('parameter_unknown', `parameter "${printable(name)}" is not part of a WIT request`)
  }
  const type = ownMember(members, 'attestation_type')
  if (type === undefined) throw refuse.request('attestation_type_missing', 'attestation_type is required')
  if (typeof type !== 'string' || !TYPES.has(type)) throw refuse.request('attestation_type_unsupported', 'attestation_type is not supported')
  const text = (name: string): string | undefined => {
    const value = ownMember(members, name)
    return typeof value === 'string' ? value : undefined
  }
  const attestation = checkCompactToken(text('attestation'), 'attestation', maxTokenBytes)
  const proof = checkCompactToken(text('proof'), 'proof', maxTokenBytes)
  const roles = ownMember(members, 'roles')
  if (roles !== undefined) {
    if (!Array.isArray(roles) || roles.length > MAX_ROLES || roles.some((r) => typeof r !== 'string' || !/^[A-Za-z0-9._:-]{1,128}$/.test(r))) {
      throw refuse.request('roles_invalid', `roles must be a list of at most ${MAX_ROLES} role names`)
    }
  }
  return { attestationType: type as WitAttestationType, attestation, proof, roles: roles === undefined ? undefined : [...new Set(roles as string[])] }
}
