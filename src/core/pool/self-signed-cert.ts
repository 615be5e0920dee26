/**
 * A minimal X.509 v3 self-signed certificate builder (DER by hand, signed with node:crypto), for
 * the pool's optional `stratum+ssl` listener.
 *
 * Why by hand: Node 22's crypto makes keys and signs, but cannot issue a certificate, and no
 * runtime dependency of the project can (pkijs is only a transitive dev dependency). The
 * certificate is what `openssl req -x509 -newkey ec` makes: ECDSA P-256 with SHA-256, CA:TRUE
 * (so a client can pin it as its own trust anchor), subject = issuer, key identifiers, and a
 * subjectAltName naming this host, so clients that verify against it (tls.connect with `ca`) accept
 * it. Miners that speak stratum+ssl (AxeOS) usually do not verify at all; the owner compares the
 * SHA-256 fingerprint shown in the app instead.
 *
 * Encoding follows RFC 5280 §4.1 and X.690 DER (definite lengths, minimal INTEGERs).
 */
import { createHash, generateKeyPairSync, type KeyObject, randomBytes, sign, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'

export interface SelfSignedOptions {
  /** Subject and issuer CN. Default 'Hashyard pool'. */
  commonName?: string
  /** DNS names for subjectAltName. Default ['localhost']. */
  dnsNames?: string[]
  /** IPv4/IPv6 addresses for subjectAltName. Default ['127.0.0.1']. */
  ipAddresses?: string[]
  /** Default 3650 (ten years: a LAN pool certificate that expires silently helps nobody). */
  validDays?: number
  /** Default: now. */
  nowMs?: number
}

export interface SelfSignedCertificate {
  certPem: string
  keyPem: string
  /** SHA-256 of the certificate DER as `AB:CD:…`, the form openssl and Node's `fingerprint256` use. */
  fingerprintSha256: string
  notAfterMs: number
}

// ---------------------------------------------------------------------------------------------
// DER

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(content.length), content])
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, Buffer.concat(parts))
const set = (...parts: Buffer[]): Buffer => tlv(0x31, Buffer.concat(parts))
const octets = (b: Buffer): Buffer => tlv(0x04, b)
const utf8 = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))
const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0x00]))
/** BIT STRING whose bits fill whole bytes (a key, a signature). */
const bits = (b: Buffer): Buffer => tlv(0x03, Buffer.concat([Buffer.from([0]), b]))
/** [n] EXPLICIT. */
const explicit = (n: number, content: Buffer): Buffer => tlv(0xa0 | n, content)

/** A non-negative INTEGER from big-endian bytes: minimal, with a 00 when the top bit is set. */
export function derUnsignedInteger(be: Buffer): Buffer {
  let i = 0
  while (i < be.length - 1 && be[i] === 0) i++
  let body = be.subarray(i)
  if (body.length === 0) body = Buffer.from([0])
  if ((body[0]! & 0x80) !== 0) body = Buffer.concat([Buffer.from([0]), body])
  return tlv(0x02, body)
}

export function derOid(dotted: string): Buffer {
  const arcs = dotted.split('.').map((a) => Number.parseInt(a, 10))
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new RangeError(`bad OID ${dotted}`)
  const out: number[] = [arcs[0]! * 40 + arcs[1]!]
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
function derTime(ms: number): Buffer {
  const d = new Date(ms)
  const p2 = (n: number) => String(n).padStart(2, '0')
  const rest = `${p2(d.getUTCMonth() + 1)}${p2(d.getUTCDate())}${p2(d.getUTCHours())}${p2(d.getUTCMinutes())}${p2(d.getUTCSeconds())}Z`
  const y = d.getUTCFullYear()
  if (y >= 1950 && y < 2050) return tlv(0x17, Buffer.from(`${p2(y % 100)}${rest}`, 'ascii'))
  return tlv(0x18, Buffer.from(`${String(y).padStart(4, '0')}${rest}`, 'ascii'))
}

function ipBytes(ip: string): Buffer {
  const kind = isIP(ip)
  if (kind === 4) return Buffer.from(ip.split('.').map((x) => Number.parseInt(x, 10)))
  if (kind === 6) {
    const [head = '', tail = ''] = ip.split('::') as [string?, string?]
    const h = head === '' ? [] : head.split(':')
    const t = ip.includes('::') ? (tail === '' ? [] : tail.split(':')) : []
    const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h
    const b = Buffer.alloc(16)
    groups.forEach((g, i) => {
      b.writeUInt16BE(Number.parseInt(g, 16), i * 2)
    })
    return b
  }
  throw new RangeError(`not an IP address: ${ip}`)
}

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
}

const extension = (oid: string, critical: boolean, value: Buffer): Buffer =>
  critical ? seq(derOid(oid), bool(true), octets(value)) : seq(derOid(oid), octets(value))

function toPem(label: string, der: Buffer): string {
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n')
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`
}

/** The uncompressed EC point (04‖x‖y) of a P-256 key: what the SPKI BIT STRING holds. */
function ecPoint(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' })
  if (jwk.x === undefined || jwk.y === undefined) throw new Error('not an EC key')
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')])
}

/** Builds the certificate DER for a key pair (exported for tests that want a fixed key). */
export function buildCertificateDer(
  keys: { publicKey: KeyObject; privateKey: KeyObject },
  o: Required<Omit<SelfSignedOptions, 'nowMs'>> & { nowMs: number; serial: Buffer },
): Buffer {
  const name = seq(
    set(seq(derOid(OID.organization), utf8('Hashyard'))),
    set(seq(derOid(OID.commonName), utf8(o.commonName))),
  )
  const sigAlg = seq(derOid(OID.ecdsaWithSha256))
  const spki = keys.publicKey.export({ type: 'spki', format: 'der' })
  const keyId = createHash('sha1').update(ecPoint(keys.publicKey)).digest()
  const altNames = seq(
    ...o.dnsNames.map((d) => tlv(0x82, Buffer.from(d, 'ascii'))),
    ...o.ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))),
  )
  // digitalSignature (bit 0) + keyCertSign (bit 5) = 0b1000_0100, 2 unused trailing bits.
  const keyUsage = tlv(0x03, Buffer.from([0x02, 0x84]))
  const extensions = seq(
    extension(OID.basicConstraints, true, seq(bool(true))),
    extension(OID.keyUsage, true, keyUsage),
    extension(OID.extKeyUsage, false, seq(derOid(OID.serverAuth))),
    extension(OID.subjectKeyIdentifier, false, octets(keyId)),
    extension(OID.authorityKeyIdentifier, false, seq(tlv(0x80, keyId))),
    extension(OID.subjectAltName, false, altNames),
  )
  const notBeforeMs = o.nowMs - 3_600_000
  const notAfterMs = o.nowMs + o.validDays * 86_400_000
  const tbs = seq(
    explicit(0, derUnsignedInteger(Buffer.from([2]))),
    derUnsignedInteger(o.serial),
    sigAlg,
    name,
    seq(derTime(notBeforeMs), derTime(notAfterMs)),
    name,
    spki,
    explicit(3, extensions),
  )
  // ECDSA signatures from node:crypto are DER Ecdsa-Sig-Value by default: what X.509 wants.
  const signature = sign('sha256', tbs, keys.privateKey)
  return seq(tbs, sigAlg, bits(signature))
}

/** A fresh ECDSA P-256 key and a self-signed certificate for it. */
export function createSelfSignedCertificate(opts: SelfSignedOptions = {}): SelfSignedCertificate {
  const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
  const nowMs = opts.nowMs ?? Date.now()
  const validDays = opts.validDays ?? 3650
  const serial = randomBytes(16)
  serial[0] = (serial[0]! & 0x7f) | 0x40 // positive and exactly 16 bytes
  const der = buildCertificateDer(keys, {
    commonName: opts.commonName ?? 'Hashyard pool',
    dnsNames: opts.dnsNames ?? ['localhost'],
    ipAddresses: opts.ipAddresses ?? ['127.0.0.1'],
    validDays,
    nowMs,
    serial,
  })
  const certPem = toPem('CERTIFICATE', der)
  const keyPem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
  // Parsed back by OpenSSL (through Node) as a self-check: a malformed certificate fails here,
  // not later in a miner's handshake.
  const x509 = new X509Certificate(certPem)
  if (!x509.verify(keys.publicKey)) throw new Error('the generated certificate does not verify')
  return { certPem, keyPem, fingerprintSha256: x509.fingerprint256, notAfterMs: Date.parse(x509.validTo) }
}
