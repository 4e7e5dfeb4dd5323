// Public API of the context module: named exports only. Owned by the context work stream.
export {}
