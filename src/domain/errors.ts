/**
 * Expected failures of domain operations. The GraphQL layer exposes each class as a type
 * implementing the `Error` interface (see src/graphql/errors.ts); anything else thrown is
 * unexpected and stays masked.
 */
export interface FieldError {
  /** Dotted path of the offending input field, e.g. "input.url" or "input.headers.2.name". */
  path: string;
  message: string;
}

export abstract class DomainError extends Error {
  abstract readonly code: string;
}

export class ValidationError extends DomainError {
  readonly code = "VALIDATION_FAILED";
  constructor(
    readonly fieldErrors: FieldError[],
    message = fieldErrors.length === 1 ? fieldErrors[0]!.message : "Some fields are invalid",
  ) {
    super(message);
    this.name = "ValidationError";
  }

  static field(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

export class NotFoundError extends DomainError {
  readonly code = "NOT_FOUND";
  constructor(
    readonly kind: string,
    readonly id: string,
  ) {
    super(`${kind} ${id} not found`);
    this.name = "NotFoundError";
  }
}

export class ConflictError extends DomainError {
  readonly code = "CONFLICT";
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
    this.name = "ConflictError";
  }
}

/** Collects field errors and throws them together, so a caller learns every problem at once. */
export class FieldErrors {
  readonly errors: FieldError[] = [];
  add(path: string, message: string): this {
    this.errors.push({ path, message });
    return this;
  }
  throwIfAny(): void {
    if (this.errors.length > 0) throw new ValidationError(this.errors);
  }
}
