import { ConflictError, NotFoundError, ValidationError } from "../domain/errors.js";
import { builder } from "./builder.js";

/** Every expected failure implements this, so clients can always select `... on Error { message code }`. */
export const ErrorInterface = builder.interfaceRef<Error & { code: string }>("Error").implement({
  fields: (t) => ({
    message: t.exposeString("message"),
    code: t.exposeString("code"),
  }),
});

export const FieldErrorRef = builder.objectRef<{ path: string; message: string }>("FieldError").implement({
  fields: (t) => ({
    path: t.exposeString("path", { description: 'Dotted path of the input field, e.g. "input.url"' }),
    message: t.exposeString("message"),
  }),
});

builder.objectType(ValidationError, {
  name: "ValidationError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ValidationError,
  fields: (t) => ({
    fieldErrors: t.field({ type: [FieldErrorRef], resolve: (e) => e.fieldErrors }),
  }),
});

builder.objectType(NotFoundError, {
  name: "NotFoundError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof NotFoundError,
  fields: (t) => ({
    // Not `id`: that would make normalising caches (Apollo, urql graphcache) store the error as
    // an entity keyed by the missing object's id.
    resourceId: t.exposeString("id", { description: "The id (or uid) that was not found." }),
  }),
});

builder.objectType(ConflictError, {
  name: "ConflictError",
  interfaces: [ErrorInterface],
  isTypeOf: (v) => v instanceof ConflictError,
  fields: (t) => ({
    path: t.exposeString("path", { nullable: true }),
  }),
});

/** The typed failures a mutation can return; spread into a field's `errors` option. */
export const MUTATION_ERRORS = { types: [ValidationError, NotFoundError, ConflictError] };
