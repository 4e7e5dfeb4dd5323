/** A policy for guards at the edge, where the principal is the user the access token names. */

/** A manager reads the reviews of her own department. */
export const EDGE_POLICY = `apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: review
  rules:
    - actions: ["read"]
      effect: EFFECT_ALLOW
      roles: ["manager"]
      condition:
        match:
          expr: request.principal.attr.department == request.resource.attr.department
`
