/**
 * FreeBSD MD5-crypt (`$1$`), which Whatsminer API v2 uses to derive its token (research §4.3;
 * pyasic uses passlib's md5_crypt). Node's crypto has MD5 but not this construction. Written
 * from the published algorithm (Poul-Henning Kamp, 1994) and checked against OpenSSL's
 * `openssl passwd -1` output in the tests.
 */
import { createHash } from 'node:crypto'

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const MAGIC = '$1$'

const md5 = (...parts: Buffer[]): Buffer => {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}

function to64(v: number, n: number): string {
  let out = ''
  let x = v
  for (let i = 0; i < n; i++) {
    out += ITOA64[x & 0x3f]
    x >>>= 6
  }
  return out
}

/** The 22-character hash part of `$1$<salt>$<hash>`. The salt is cut at 8 characters or a `$`. */
export function md5cryptHash(password: string, saltIn: string): string {
  const pw = Buffer.from(password, 'utf8')
  const salt = Buffer.from(saltIn.split('$')[0]?.slice(0, 8) ?? '', 'utf8')
  const magic = Buffer.from(MAGIC)
  const alt = md5(pw, salt, pw)
  const h = createHash('md5')
  h.update(pw)
  h.update(magic)
  h.update(salt)
  for (let left = pw.length; left > 0; left -= 16) h.update(alt.subarray(0, Math.min(16, left)))
  // A quirk of the original: the bits of the length pick a NUL byte or the first password byte.
  for (let i = pw.length; i > 0; i >>>= 1) h.update(i & 1 ? Buffer.from([0]) : pw.subarray(0, 1))
  let fin: Buffer = h.digest()
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? pw : fin]
    if (i % 3) parts.push(salt)
    if (i % 7) parts.push(pw)
    parts.push(i & 1 ? fin : pw)
    fin = md5(...parts)
  }
  const b = (k: number) => fin[k] ?? 0
  return (
    to64((b(0) << 16) | (b(6) << 8) | b(12), 4) +
    to64((b(1) << 16) | (b(7) << 8) | b(13), 4) +
    to64((b(2) << 16) | (b(8) << 8) | b(14), 4) +
    to64((b(3) << 16) | (b(9) << 8) | b(15), 4) +
    to64((b(4) << 16) | (b(10) << 8) | b(5), 4) +
    to64(b(11), 2)
  )
}

/** The full `$1$salt$hash` string, as `crypt(3)` and `openssl passwd -1` print it. */
export function md5crypt(password: string, salt: string): string {
  const s = salt.split('$')[0]?.slice(0, 8) ?? ''
  return `${MAGIC}${s}$${md5cryptHash(password, salt)}`
}
