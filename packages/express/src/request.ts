/** Adds `req.meshguard` to Express's request type. */
import type { GuardGrant } from '@meshguard/core'

declare global {
  // Express exposes its request type for augmentation through this global namespace.
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The verified caller and decision, set by meshguard's middleware before the handler runs. */
      meshguard?: GuardGrant | undefined
    }
  }
}

export {}
