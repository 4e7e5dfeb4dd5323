// oidc-provider ships no type declarations; the sample uses it untyped.
declare module 'oidc-provider'
