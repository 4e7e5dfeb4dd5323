/**
 * The policies of the three e2e services, as Cerbos resource policies. Workload roles default to the
 * last SPIFFE path segment, so `edge`, `gateway` and `employee-service` are the callers' roles.
 */

/** gateway: the edge may view the storefront for a signed-in user. */
export const GATEWAY_POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: storefront
  rules:
    - actions: [view]
      effect: EFFECT_ALLOW
      roles: [edge]
`

/** employee-service: the gateway reads review summaries. */
export const EMPLOYEE_POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: review_summary
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [gateway]
`

/** employee-service: the edge may run the e2e diagnostics (replay, unmapped, redirect, mismatch). */
export const DIAGNOSTICS_POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: diagnostics
  rules:
    - actions: [run]
      effect: EFFECT_ALLOW
      roles: [edge]
`

/**
 * review-service: only employee-service reads reports, and only for a user of the report's
 * department (the seed's condition on principal.attr.act.user).
 */
export const REVIEW_POLICY = `
apiVersion: api.cerbos.dev/v1
resourcePolicy:
  version: default
  resource: report
  rules:
    - actions: [read]
      effect: EFFECT_ALLOW
      roles: [employee-service]
      condition:
        match:
          expr: request.principal.attr.act.user.attr.department == request.resource.attr.department
`
