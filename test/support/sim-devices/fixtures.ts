import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'devices')

/** The exact bytes of a captured reply under test/fixtures/devices (see SOURCES.md there). */
export function fixtureText(path: string): string {
  return readFileSync(join(ROOT, path), 'utf8')
}

export function fixtureJson(path: string): unknown {
  return JSON.parse(fixtureText(path)) as unknown
}

/** A fixture as a plain record, for sims that mutate state; throws on a fixture that is not an object. */
export function fixtureRecord(path: string): Record<string, unknown> {
  const v = fixtureJson(path)
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`fixture ${path} is not an object`)
  return v as Record<string, unknown>
}
