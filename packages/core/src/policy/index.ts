// Public API of the policy module: named exports only. Owned by the policy work stream.
export {}
