import { describe, expect, it } from 'vitest'
import { resolveStaticPath } from './static-files'

describe('resolveStaticPath', () => {
  const root = '/srv/ui'
  it('maps / to index.html and files under the root', () => {
    expect(resolveStaticPath(root, '/')).toBe('/srv/ui/index.html')
    expect(resolveStaticPath(root, '/assets/a.js?v=1')).toBe('/srv/ui/assets/a.js')
  })
  it.each(['/../etc/passwd', '/%2e%2e/etc/passwd', '/assets/..%2f..%2fsecret', '/a%00b', '/%E0%A4%A', '/..\\x'])(
    'refuses %s',
    (p) => expect(resolveStaticPath(root, p)).toBeUndefined(),
  )
})
