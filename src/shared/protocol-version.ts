/** Kept apart from protocol.ts so the sandboxed preload can import it without bundling zod. */
export const PROTOCOL_VERSION = 1
