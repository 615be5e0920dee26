import { describe, expect, it } from 'vitest'
import { CATALOGS, translate } from '../src/renderer/src/i18n'
import { en } from '../src/renderer/src/i18n/en'

const placeholders = (s: string): string[] => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? '').sort()

describe('string catalogs', () => {
  for (const [lang, catalog] of Object.entries(CATALOGS)) {
    it(`${lang} has exactly the English keys, each non-empty, with the same placeholders`, () => {
      expect(Object.keys(catalog).sort()).toEqual(Object.keys(en).sort())
      for (const [k, v] of Object.entries(catalog)) {
        expect(v.trim(), `${lang} ${k}`).not.toBe('')
        expect(placeholders(v), `${lang} ${k}`).toEqual(placeholders(en[k as keyof typeof en]))
      }
    })
  }

  it('fills placeholders as text and leaves unknown ones visible', () => {
    expect(translate('en', 'conn.down', { reason: '<b>x</b>' })).toContain('<b>x</b>')
    expect(translate('es', 'fleet.count', { shown: 1, total: 2 })).toBe('1 de 2 equipos')
    expect(translate('en', 'conn.down')).toContain('{reason}')
  })
})
