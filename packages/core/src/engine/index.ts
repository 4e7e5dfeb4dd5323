// Public API of the engine module: named exports only. Owned by the engine work stream.
export {}
