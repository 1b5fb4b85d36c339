/** A configuration problem, worded for the operator: it names the key, the value and what is allowed. */
export class ConfigError extends Error {}
