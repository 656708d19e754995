/**
 * An error caused by the user's input (arguments, files, configuration). The CLI prints its message
 * without a stack trace and exits with `exitCode`.
 */
export class FlorError extends Error {
  readonly exitCode: number;
  readonly hint: string | undefined;

  constructor(message: string, options: { exitCode?: number; hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "FlorError";
    this.exitCode = options.exitCode ?? 1;
    this.hint = options.hint;
  }
}

/** A mistake in how a command or script was invoked (exit code 2). */
export class FlorUsageError extends FlorError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 2, ...(hint === undefined ? {} : { hint }) });
    this.name = "FlorUsageError";
  }
}
