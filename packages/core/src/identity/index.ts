// Public API of the identity module: named exports only. Owned by the identity work stream.
export {}
