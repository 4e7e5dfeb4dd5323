// Public API of the audit module: named exports only. Owned by the audit work stream.
export {}
