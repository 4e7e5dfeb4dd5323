// Public API of the telemetry module: named exports only. Owned by the telemetry work stream.
export {}
