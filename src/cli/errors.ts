/** A failure with a message meant for the operator, not a bug: printed as one line, exit 2, no stack trace. */
export class StartError extends Error {}

/** Wrong command-line use: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}
