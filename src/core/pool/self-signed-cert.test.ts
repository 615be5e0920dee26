import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import tls from 'node:tls'
import { describe, expect, it } from 'vitest'
import { tempDir } from '../../../test/support/temp-dir'
import { memoryLogger } from '../logger'
import { createSelfSignedCertificate, derOid, derUnsignedInteger } from './self-signed-cert'
import { ensurePoolCertificate } from './tls-cert'

async function serveOnce(cert: string, key: string): Promise<{ port: number; close: () => Promise<void> }> {
  const server = tls.createServer({ cert, key }, (s) => s.end('hello\n'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  }
}

function connect(opts: tls.ConnectionOptions): Promise<{ authorized: boolean; fingerprint: string; data: string }> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(opts, () => {
      const fingerprint = s.getPeerCertificate().fingerprint256
      let data = ''
      s.setEncoding('utf8')
      s.on('data', (d: string) => {
        data += d
      })
      s.on('end', () => resolve({ authorized: s.authorized, fingerprint, data }))
    })
    s.once('error', reject)
  })
}

describe('DER primitives', () => {
  it('encodes OIDs as X.690 says (ecdsa-with-SHA256, commonName)', () => {
    expect(derOid('1.2.840.10045.4.3.2').toString('hex')).toBe('06082a8648ce3d040302')
    expect(derOid('2.5.4.3').toString('hex')).toBe('0603550403')
  })

  it('encodes unsigned INTEGERs minimally with a sign pad', () => {
    expect(derUnsignedInteger(Buffer.from([2])).toString('hex')).toBe('020102')
    expect(derUnsignedInteger(Buffer.from([0, 0, 0x80])).toString('hex')).toBe('02020080')
    expect(derUnsignedInteger(Buffer.from([0, 0])).toString('hex')).toBe('020100')
  })
})

describe('self-signed certificate', () => {
  it('is parsed by OpenSSL with the fields asked for', () => {
    const made = createSelfSignedCertificate({
      commonName: 'Test pool',
      dnsNames: ['localhost', 'farm.local'],
      ipAddresses: ['127.0.0.1', '::1'],
      validDays: 30,
    })
    const x = new X509Certificate(made.certPem)
    expect(x.subject).toContain('CN=Test pool')
    expect(x.issuer).toBe(x.subject)
    expect(x.subjectAltName).toBe('DNS:localhost, DNS:farm.local, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1')
    expect(x.ca).toBe(true)
    expect(x.fingerprint256).toBe(made.fingerprintSha256)
    expect(made.fingerprintSha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
    expect(x.checkIP('127.0.0.1')).toBe('127.0.0.1')
    expect(made.notAfterMs - Date.now()).toBeGreaterThan(29 * 86_400_000)
    expect(x.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
  })

  it('uses GeneralizedTime past 2049 and stays valid', () => {
    const made = createSelfSignedCertificate({ nowMs: Date.UTC(2049, 6, 1), validDays: 3650 })
    const x = new X509Certificate(made.certPem)
    expect(new Date(x.validTo).getUTCFullYear()).toBe(2059)
  })

  it('serves TLS: a client that pins it connects verified and sees the same fingerprint', async () => {
    const made = createSelfSignedCertificate()
    const srv = await serveOnce(made.certPem, made.keyPem)
    try {
      const pinned = await connect({ host: '127.0.0.1', port: srv.port, ca: made.certPem })
      expect(pinned.authorized).toBe(true)
      expect(pinned.fingerprint).toBe(made.fingerprintSha256)
      expect(pinned.data).toBe('hello\n')
      // A client with the default trust store refuses it, as a self-signed certificate should be.
      await expect(connect({ host: '127.0.0.1', port: srv.port })).rejects.toThrow(/self-signed|self signed/)
    } finally {
      await srv.close()
    }
  })
})

describe('ensurePoolCertificate', () => {
  it('creates the certificate once, keeps the key private, and reuses it', () => {
    const t = tempDir()
    try {
      const dir = join(t.dir, 'pool-tls')
      const first = ensurePoolCertificate(dir, memoryLogger())
      expect(first.created).toBe(true)
      expect(statSync(join(dir, 'key.pem')).mode & 0o077).toBe(0)
      const again = ensurePoolCertificate(dir, memoryLogger())
      expect(again.created).toBe(false)
      expect(again.fingerprintSha256).toBe(first.fingerprintSha256)
      // A damaged file is replaced rather than failing the pool start.
      writeFileSync(join(dir, 'cert.pem'), 'garbage')
      const replaced = ensurePoolCertificate(dir, memoryLogger())
      expect(replaced.created).toBe(true)
      expect(replaced.fingerprintSha256).not.toBe(first.fingerprintSha256)
      expect(existsSync(join(dir, 'cert.pem'))).toBe(true)
      expect(readFileSync(join(dir, 'cert.pem'), 'utf8')).toBe(replaced.cert)
    } finally {
      t.cleanup()
    }
  })
})
