import { describe, expect, it } from 'vitest'
import { csvCell, seriesToCsv, toCsv } from './csv'
import type { SeriesResult } from './history-store'

describe('CSV export', () => {
  it('quotes per RFC 4180: commas, quotes and line breaks; CRLF between records', () => {
    expect(csvCell('plain')).toBe('plain')
    expect(csvCell('a,b')).toBe('"a,b"')
    expect(csvCell('say "hi"')).toBe('"say ""hi"""')
    expect(csvCell('two\nlines')).toBe('"two\nlines"')
    expect(csvCell('cr\rhere')).toBe('"cr\rhere"')
    expect(csvCell(null)).toBe('')
    expect(csvCell(undefined)).toBe('')
    expect(csvCell(Number.NaN)).toBe('')
    expect(csvCell(Number.POSITIVE_INFINITY)).toBe('')
    expect(
      toCsv(
        ['a', 'b'],
        [
          ['x', 1],
          ['y,z', null],
        ],
      ),
    ).toBe('a,b\r\nx,1\r\n"y,z",\r\n')
  })

  it('defuses spreadsheet formulas in untrusted text but leaves our own numbers alone', () => {
    expect(csvCell('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"')
    expect(csvCell('+cmd')).toBe("'+cmd")
    expect(csvCell('-2+3')).toBe("'-2+3")
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)")
    expect(csvCell('\t=1')).toBe("'\t=1")
    expect(csvCell('\r=1')).toBe('"\'\r=1"')
    expect(csvCell('bitaxe=1')).toBe('bitaxe=1')
    expect(csvCell(-3.5)).toBe('-3.5')
    expect(csvCell(0)).toBe('0')
  })

  it('exports a history query with the entity repeated on each line', () => {
    const r: SeriesResult = {
      entity: { kind: 'device', id: '=cmd|"/c calc"!A1' },
      metric: 'temp_max_c',
      kind: 'gauge',
      tierMs: 60_000,
      resolutionMs: 60_000,
      fromMs: 0,
      toMs: 120_000,
      points: [
        { tsMs: 0, count: 2, sum: 130, min: 60, max: 70, last: 70, avg: 65, value: 65 },
        { tsMs: 60_000, count: 1, sum: -1, min: -1, max: -1, last: -1, avg: -1, value: -1 },
      ],
    }
    const lines = seriesToCsv(r).split('\r\n')
    expect(lines[0]).toBe('time_utc,ts_ms,entity_kind,entity_id,metric,resolution_ms,count,value,avg,sum,min,max,last')
    expect(lines[1]).toBe(
      '1970-01-01T00:00:00.000Z,0,device,"\'=cmd|""/c calc""!A1",temp_max_c,60000,2,65,65,130,60,70,70',
    )
    expect(lines[2]).toBe(
      '1970-01-01T00:01:00.000Z,60000,device,"\'=cmd|""/c calc""!A1",temp_max_c,60000,1,-1,-1,-1,-1,-1,-1',
    )
    expect(lines[3]).toBe('')
    expect(lines).toHaveLength(4)
  })
})
