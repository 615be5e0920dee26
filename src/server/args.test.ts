import { describe, expect, it } from 'vitest'
import { defaultDataDir, parseServeArgs } from './args'

describe('parseServeArgs', () => {
  it('has loopback defaults', () => {
    expect(parseServeArgs([], { XDG_DATA_HOME: '/x' })).toEqual({
      host: '127.0.0.1',
      port: 8080,
      dataDir: '/x/hashyard',
      allowHosts: [],
      help: false,
      logLevel: 'info',
    })
  })
  it('reads every option, with = or a separate value', () => {
    const a = parseServeArgs([
      '--host=0.0.0.0',
      '--port',
      '0',
      '--data-dir',
      '/d',
      '--allow-host',
      'Farm.local',
      '--help',
    ])
    expect(a).toMatchObject({ host: '0.0.0.0', port: 0, dataDir: '/d', allowHosts: ['farm.local'], help: true })
  })
  it.each([
    [['--port', 'abc'], /--port needs a number/],
    [['--port', '70000'], /0 to 65535/],
    [['--host'], /--host needs an address/],
    [['--frobnicate'], /Unknown option "--frobnicate"/],
    [['--log-level', 'loud'], /debug, info, warn, error/],
  ])('explains %j', (argv, msg) => {
    const r = parseServeArgs(argv as string[])
    expect('error' in r && r.error).toMatch(msg)
  })
  it('falls back to ~/.local/share without XDG_DATA_HOME', () => {
    expect(defaultDataDir({ HOME: '/home/u' })).toMatch(/\.local\/share\/hashyard$/)
  })
})
