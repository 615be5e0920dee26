import { readFileSync } from 'node:fs'

/** Test helper: reads a file from test/fixtures/nvs (see SOURCES.md there). */
export function nvsFixture(name: string): Buffer {
  return readFileSync(new URL(`../../../../../test/fixtures/nvs/${name}`, import.meta.url))
}
