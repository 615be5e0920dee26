import { describe, expect, it } from 'vitest'
import { checkWorkerTemplate, renderUpstreamWorker, workerPart } from './upstream-worker'

const vars = { account: 'farm', user: 'bc1qxyz.bitaxe-07', ip: '10.0.1.23', id: 4 }

describe('upstream worker names', () => {
  it('renders the route templates', () => {
    expect(renderUpstreamWorker('{account}.{worker}', vars)).toEqual({ ok: true, value: 'farm.bitaxe-07' })
    expect(renderUpstreamWorker('{account}.{ip_x}', vars)).toEqual({ ok: true, value: 'farm.10x0x1x23' })
    expect(renderUpstreamWorker('{account}.r{ip3}-{ip4}', vars)).toEqual({ ok: true, value: 'farm.r1-23' })
    expect(renderUpstreamWorker('{account}', vars)).toEqual({ ok: true, value: 'farm' })
    expect(renderUpstreamWorker('pass-through', vars)).toEqual({ ok: true, value: 'bc1qxyz.bitaxe-07' })
  })

  it('keeps the worker part free of dots and odd characters', () => {
    expect(workerPart('acct.rack.1')).toBe('rack_1')
    expect(workerPart('rig 7')).toBe('rig_7')
    expect(workerPart('acct.')).toBe('worker')
    expect(renderUpstreamWorker('{account}.{user}', vars)).toEqual({ ok: false, message: expect.stringMatching(/dot/) })
    // The worker part is cut to 32 characters; a full user beyond the pool's limit is refused.
    expect(renderUpstreamWorker('{account}.{worker}', { ...vars, user: `a.${'x'.repeat(40)}` })).toEqual({
      ok: true,
      value: `farm.${'x'.repeat(32)}`,
    })
    expect(renderUpstreamWorker('{account}.{worker}', { ...vars, account: 'a'.repeat(190) })).toEqual({
      ok: false,
      message: expect.stringMatching(/full user is 200 characters/),
    })
  })

  it('refuses broken templates with the reason', () => {
    expect(checkWorkerTemplate('{account}.{mac9}')).toEqual({ ok: false, message: expect.stringMatching(/\{mac9\}/) })
    expect(checkWorkerTemplate('{account.{worker}')).toMatchObject({ ok: false })
    expect(checkWorkerTemplate('{account}.{worker}}')).toEqual({
      ok: false,
      message: expect.stringMatching(/Unbalanced/),
    })
    expect(checkWorkerTemplate('')).toMatchObject({ ok: false })
    expect(checkWorkerTemplate('{account} x')).toEqual({ ok: false, message: expect.stringMatching(/spaces/) })
    expect(checkWorkerTemplate('pass-through')).toEqual({ ok: true })
  })
})
