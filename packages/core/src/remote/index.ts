// Public API of the remote module: named exports only. Owned by the remote work stream.
export {}
