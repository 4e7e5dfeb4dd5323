// Public API of the testsuite module: named exports only. Owned by the testsuite work stream.
export {}
