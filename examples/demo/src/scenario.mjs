/**
 * The scripted scenario: who calls what, on whose behalf, and what must happen. Every step is a
 * real HTTP request to a service of the running sample system.
 */

/**
 * @typedef {import('./system.mjs').System} System
 * @typedef {{ status: number, body: any }} StepResponse
 */

/**
 * @typedef {object} Step
 * @property {string} caller       who sends the request
 * @property {string} onBehalfOf   the user or agent it acts for
 * @property {string} request      short description: method, service, path
 * @property {number} expected     the HTTP status that proves the point
 * @property {string} point        what the step demonstrates
 * @property {(system: System) => Promise<StepResponse>} send
 * @property {import('./system.mjs').Mode[]} [modes]  the profiles the step belongs to (default: all)
 */

/**
 * @param {string} url
 * @param {{ method?: string, headers?: Record<string, string>, body?: unknown }} [init]
 * @returns {Promise<StepResponse>}
 */
export async function call(url, init = {}) {
  const response = await fetch(url, {
    method: init.method ?? 'GET',
    headers: { ...(init.body === undefined ? {} : { 'content-type': 'application/json' }), ...init.headers },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  })
  const text = await response.text()
  let body
  try {
    body = text === '' ? undefined : JSON.parse(text)
  } catch {
    body = text
  }
  return { status: response.status, body }
}

const bearer = (/** @type {string} */ token) => ({ authorization: `Bearer ${token}` })

/**
 * The same JWT with some payload claims changed and the original signature kept: what an attacker
 * who edits a token gets.
 * @param {string} token
 * @param {Record<string, unknown>} claims
 */
function withClaims(token, claims) {
  const [header, payload, signature] = token.split('.')
  const edited = { ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')), ...claims }
  return `${header}.${Buffer.from(JSON.stringify(edited)).toString('base64url')}.${signature}`
}

/** @type {Step[]} */
export const SCENARIO = [
  {
    caller: 'browser',
    onBehalfOf: 'alice (manager, engineering)',
    request: 'GET gateway /api/reviews/rv-eng-1',
    expected: 200,
    point: 'a manager reads a review of her own department, checked at every hop',
    send: (s) => call(`${s.urls.gateway}/api/reviews/rv-eng-1`, { headers: bearer(s.tokens.alice) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'alice (manager, engineering)',
    request: 'GET gateway /api/reviews/rv-sales-1',
    expected: 403,
    point: 'but not one of another department (seed policy condition)',
    send: (s) => call(`${s.urls.gateway}/api/reviews/rv-sales-1`, { headers: bearer(s.tokens.alice) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'hana (HR)',
    request: 'GET gateway /api/reviews/rv-sales-1',
    expected: 200,
    point: 'HR reads any review (derived role hr_user)',
    send: (s) => call(`${s.urls.gateway}/api/reviews/rv-sales-1`, { headers: bearer(s.tokens.hana) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'ed (employee)',
    request: 'GET gateway /api/reviews/rv-eng-1',
    expected: 403,
    point: 'a plain employee reads no review',
    send: (s) => call(`${s.urls.gateway}/api/reviews/rv-eng-1`, { headers: bearer(s.tokens.ed) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'alice (manager, engineering)',
    request: 'GET gateway /api/reviews',
    expected: 200,
    point: 'a manager lists her department only: rv-eng-1, rv-eng-2 (query plan as SQL)',
    send: (s) => call(`${s.urls.gateway}/api/reviews`, { headers: bearer(s.tokens.alice) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'hana (HR)',
    request: 'GET gateway /api/reviews',
    expected: 200,
    point: 'HR lists every review: rv-eng-1, rv-eng-2, rv-people-1, rv-sales-1',
    send: (s) => call(`${s.urls.gateway}/api/reviews`, { headers: bearer(s.tokens.hana) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'ed (employee)',
    request: 'GET gateway /api/reviews',
    expected: 200,
    point: 'a plain employee lists nothing: an empty list, not an error',
    send: (s) => call(`${s.urls.gateway}/api/reviews`, { headers: bearer(s.tokens.ed) }),
  },
  {
    caller: 'scheduler',
    onBehalfOf: 'hr-reporting-agent (AI)',
    request: 'GET gateway /api/reports/hr-summary',
    expected: 200,
    point: 'the AI agent reads aggregates (read:aggregate on hr_report)',
    send: (s) => call(`${s.urls.gateway}/api/reports/hr-summary`, { headers: bearer(s.tokens.agent) }),
  },
  {
    caller: 'scheduler',
    onBehalfOf: 'hr-reporting-agent (AI)',
    request: 'GET gateway /api/reports/hr-raw',
    expected: 403,
    point: 'the agent reaching for raw reviews is denied (least privilege)',
    send: (s) => call(`${s.urls.gateway}/api/reports/hr-raw`, { headers: bearer(s.tokens.agent) }),
  },
  {
    caller: 'scheduler',
    onBehalfOf: 'hr-reporting-agent (AI)',
    request: 'GET gateway /api/reports/hr-list',
    expected: 403,
    point: 'and listing raw reviews is refused too (list route, 403)',
    send: (s) => call(`${s.urls.gateway}/api/reports/hr-list`, { headers: bearer(s.tokens.agent) }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'ed (employee)',
    request: 'POST gateway /api/orders',
    expected: 201,
    point: 'orders charges the user it acts for at payments',
    send: (s) => call(`${s.urls.gateway}/api/orders`, { method: 'POST', headers: bearer(s.tokens.ed), body: { item: 'laptop stand', amount: 42 } }),
  },
  {
    caller: 'browser',
    onBehalfOf: 'ed (employee)',
    request: 'POST gateway /api/orders/ord-1/cancel',
    expected: 403,
    point: 'lateral move: orders tries a refund at payments and is denied',
    send: (s) => call(`${s.urls.gateway}/api/orders/ord-1/cancel`, { method: 'POST', headers: bearer(s.tokens.ed) }),
  },
  {
    caller: 'attacker',
    onBehalfOf: 'alice (token edited)',
    request: 'GET gateway /api/reviews/rv-sales-1',
    expected: 401,
    point: "tampered: alice's token with its department changed to sales, refused at the edge",
    send: (s) => call(`${s.urls.gateway}/api/reviews/rv-sales-1`, { headers: bearer(withClaims(s.tokens.alice, { department: 'sales' })) }),
  },
  {
    caller: 'attacker',
    onBehalfOf: 'alice (token stolen)',
    request: 'GET review-service /reviews/rv-eng-1',
    expected: 401,
    point: "a user's token sent straight to an inner service: no workload identity",
    send: (s) => call(`${s.urls.review}/reviews/rv-eng-1`, { headers: { 'x-meshguard-actor': s.tokens.alice } }),
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: 'ed',
    request: 'POST payments /payments/pay-1/charge',
    expected: 401,
    point: 'replay: a token minted for review-service presented at payments',
    send: async (s) =>
      call(`${s.urls.payments}/payments/pay-1/charge`, {
        method: 'POST',
        headers: await s.attacker.replayedHeaders(),
        body: { amount: 1000 },
      }),
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: 'hana',
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: 'forged: a token signed with a key the callee does not trust (WIMSE: a proof not signed with the WIT key)',
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.forgedHeaders() }),
  },
  {
    caller: 'employee-service (old token)',
    onBehalfOf: 'hana',
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: 'expired: a genuine token an hour too old',
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.expiredHeaders() }),
  },
  {
    caller: 'attacker (captured in flight)',
    onBehalfOf: 'alice',
    request: 'GET review-service /reviews/rv-eng-1',
    expected: 401,
    point: "replayed proof: alice's request goes through, then the WIT and WPT employee-service sent for it are sent again",
    modes: ['wimse'],
    send: async (s) => {
      const genuine = await call(`${s.urls.gateway}/api/reviews/rv-eng-1`, { headers: bearer(s.tokens.alice) })
      if (genuine.status !== 200) return genuine
      return call(`${s.urls.review}/reviews/rv-eng-1`, { headers: await s.attacker.capturedHeaders() })
    },
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: 'hana',
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: 'the old profile: a genuine self-signed Bearer workload token at a WPT-only service',
    modes: ['wimse'],
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.bearerHeaders() }),
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: 'hana (Txn-Token an hour old)',
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: 'an expired Txn-Token replayed, with a fresh workload token bound to it',
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.expiredTxnHeaders() }),
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: "hana's Txn-Token on ed's call",
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: "spliced: hana's Txn-Token attached to the workload token of ed's transaction",
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.splicedTxnHeaders() }),
  },
  {
    caller: 'attacker as employee-service',
    onBehalfOf: 'hana (partner.example)',
    request: 'GET review-service /reviews/rv-sales-1',
    expected: 401,
    point: "a Txn-Token from another trust domain's TTS",
    send: async (s) => call(`${s.urls.review}/reviews/rv-sales-1`, { headers: await s.attacker.foreignTxnHeaders() }),
  },
  {
    caller: 'employee-service (compromised)',
    onBehalfOf: 'alice',
    request: 'POST txn-token-service /token (replace)',
    expected: 403,
    point: 'a replacement that widens review.read to review.read order.write, refused by the TTS',
    send: (s) => s.attacker.widenTxnToken(),
  },
  {
    caller: 'orders (compromised)',
    onBehalfOf: 'ed',
    request: 'POST txn-token-service /token (exchange)',
    expected: 403,
    point: "an inner workload exchanging a user's access token: the TTS policy allows only the edge",
    send: (s) => s.attacker.exchangeAsOrders(),
  },
]

/**
 * The steps of one profile: every step without `modes`, and those naming it.
 * @param {import('./system.mjs').Mode} mode
 * @returns {Step[]}
 */
export function scenarioFor(mode) {
  return SCENARIO.filter((step) => step.modes === undefined || step.modes.includes(mode))
}
