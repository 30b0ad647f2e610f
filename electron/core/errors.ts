/**
 * Errors a person can cause or meet in the room. Each carries a stable code
 * (for the UI and tests), a message that says what happened, and a hint that
 * says what to do next. Never put secret material in either string.
 */
export class CustosError extends Error {
  readonly code: string;
  readonly hint: string;
  /** Structured facts for the UI (for example PIN tries left); never secrets. */
  readonly details: Record<string, string | number | boolean>;
  constructor(
    code: string,
    message: string,
    hint = "",
    options?: { cause?: unknown; details?: Record<string, string | number | boolean> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CustosError";
    this.code = code;
    this.hint = hint;
    this.details = options?.details ?? {};
  }
  /** Message and hint as one line for a terminal or a dialog. */
  describe(): string {
    return this.hint ? `${this.message} ${this.hint}` : this.message;
  }
}

/** Throws a CustosError with code "INTERNAL" when an invariant does not hold. */
export function strictAssert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CustosError("INTERNAL", `Internal invariant broken: ${message}`);
}

/** Exhaustiveness check for switch statements over unions. */
export function missingCaseError(x: never): Error {
  return new CustosError("INTERNAL", `Unhandled case: ${String(x)}`);
}
