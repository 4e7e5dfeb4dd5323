// Public API of the cel module: named exports only. Owned by the cel work stream.
export {}
