import type { AlertEngine } from '../engine'
import type { AlertEvent, Observation } from '../types'

/** A settable clock for replaying recorded series without sleeping. */
export function testClock(startMs: number) {
  let t = startMs
  return {
    now: () => t,
    set(v: number) {
      t = v
    },
  }
}

export interface Step {
  atMs: number
  observations: Observation[]
}

/**
 * Replays a recorded series: at each step the clock jumps to `atMs`, the observations are fed,
 * then the engine ticks — the same order the app's poll loop uses.
 */
export function replay(engine: AlertEngine, clock: ReturnType<typeof testClock>, steps: readonly Step[]): AlertEvent[] {
  const out: AlertEvent[] = []
  for (const s of [...steps].sort((a, b) => a.atMs - b.atMs)) {
    clock.set(s.atMs)
    for (const o of s.observations) out.push(...engine.observe(o))
    out.push(...engine.tick())
  }
  return out
}

/** Every `stepMs` from `fromMs` (inclusive) to `toMs` (exclusive), one step built by `make`. */
export function every(
  stepMs: number,
  fromMs: number,
  toMs: number,
  make: (tMs: number, i: number) => Observation[],
): Step[] {
  const steps: Step[] = []
  for (let t = fromMs, i = 0; t < toMs; t += stepMs, i++) steps.push({ atMs: t, observations: make(t, i) })
  return steps
}

/** `[phase, subject id, minutes since t0]` triples: a compact, readable summary to assert on. */
export function timeline(events: readonly AlertEvent[], t0: number): Array<[string, string, number]> {
  return events.map((e) => [`${e.phase}:${e.ruleType}`, e.subject.id, Math.round(((e.tsMs - t0) / 60_000) * 100) / 100])
}
