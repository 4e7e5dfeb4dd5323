/**
 * In-memory storage for oidc-provider (tokens, grants). Demo-only: state is lost on restart,
 * which is fine for short-lived demo tokens. Providing it explicitly also silences
 * oidc-provider's "development-only adapter" warning.
 */

/**
 * A factory oidc-provider calls once per model name; each IdP instance gets its own stores.
 * @returns {(model: string) => ModelStore}
 */
export function createMemoryAdapter() {
  /** @type {Map<string, ModelStore>} */
  const stores = new Map()
  return (model) => {
    let store = stores.get(model)
    if (!store) {
      store = new ModelStore()
      stores.set(model, store)
    }
    return store
  }
}

class ModelStore {
  /** @type {Map<string, { payload: any, expiresAt: number | undefined }>} */
  store = new Map()

  /** @param {string} id @param {any} payload @param {number} [expiresIn] seconds */
  async upsert(id, payload, expiresIn) {
    this.store.set(id, { payload, expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : undefined })
  }

  /** @param {string} id */
  async find(id) {
    const entry = this.store.get(id)
    if (!entry) return undefined
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      this.store.delete(id)
      return undefined
    }
    return entry.payload
  }

  async findByUserCode() {
    return undefined
  }

  async findByUid() {
    return undefined
  }

  /** @param {string} id */
  async consume(id) {
    const entry = this.store.get(id)
    if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000)
  }

  /** @param {string} id */
  async destroy(id) {
    this.store.delete(id)
  }

  /** @param {string} grantId */
  async revokeByGrantId(grantId) {
    for (const [id, entry] of this.store) if (entry.payload.grantId === grantId) this.store.delete(id)
  }
}
