/** Injection tokens and metadata keys. Explicit tokens everywhere: no `emitDecoratorMetadata` needed. */

/** Injects the module options (`{ guard, ... }`). */
export const MESHGUARD_OPTIONS = Symbol.for('@meshguard/nestjs:options')

/** Metadata key of `@Authorize()`. */
export const AUTHORIZE_METADATA = '@meshguard/nestjs:authorize'

/** Metadata key of `@AuthorizeList()`. */
export const AUTHORIZE_LIST_METADATA = '@meshguard/nestjs:authorize-list'

/** Metadata key of `@Public()`. */
export const PUBLIC_METADATA = '@meshguard/nestjs:public'
