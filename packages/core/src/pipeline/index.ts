// Public API of the pipeline module: named exports only. Owned by the pipeline work stream.
export {}
