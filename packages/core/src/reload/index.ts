// Public API of the reload module: named exports only. Owned by the reload work stream.
export {}
