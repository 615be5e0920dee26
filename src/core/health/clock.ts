/** Milliseconds since the epoch. Injected everywhere so tests replay recorded series without sleeping. */
export type Clock = () => number

export const systemClock: Clock = () => Date.now()
