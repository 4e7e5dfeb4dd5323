/**
 * ajv ships as CommonJS; under NodeNext its default export arrives wrapped. These helpers hand back
 * the constructors with their real types.
 */
import * as ajvDraft7 from 'ajv'
import * as ajvDraft2020 from 'ajv/dist/2020.js'

type Draft7Ctor = typeof ajvDraft7.default.default
type Draft2020Ctor = typeof ajvDraft2020.default.default

function unwrap(mod: unknown): unknown {
  const first = (mod as { default?: unknown }).default ?? mod
  const second = (first as { default?: unknown }).default
  return typeof second === 'function' ? second : first
}

/** The draft-07 Ajv class (policy documents). */
export const Ajv7: Draft7Ctor = unwrap(ajvDraft7) as Draft7Ctor
/** The draft 2020-12 Ajv class (attribute schemas in `_schemas/`). */
export const Ajv2020: Draft2020Ctor = unwrap(ajvDraft2020) as Draft2020Ctor

export type { ErrorObject, ValidateFunction } from 'ajv'
