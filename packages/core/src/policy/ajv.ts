/**
 * ajv ships as CommonJS; under NodeNext its default export arrives wrapped. These helpers hand back
 * the constructors with their real types.
 */
import * as ajvDraft7 from 'ajv'
import * as ajvDraft2020 from 'ajv/dist/2020.js'

type Draft7Ctor = typeof ajvDraft7.default.default
type Draft2020Ctor = typeof ajvDraft2020.default.default

function unwrap<T>(mod: unknown): T {
  const first = (mod as { default?: unknown }).default ?? mod
  const second = (first as { default?: unknown }).default
  return (typeof second === 'function' ? second : first) as T
}

/** The draft-07 Ajv class (policy documents). */
export const Ajv7: Draft7Ctor = unwrap<Draft7Ctor>(ajvDraft7)
/** The draft 2020-12 Ajv class (attribute schemas in `_schemas/`). */
export const Ajv2020: Draft2020Ctor = unwrap<Draft2020Ctor>(ajvDraft2020)

export type { ErrorObject, ValidateFunction } from 'ajv'
