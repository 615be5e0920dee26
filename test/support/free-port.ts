import net from 'node:net'

/** A TCP port free on the given loopback address right now (the caller binds it next). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const srv = net.createServer()
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject)
    srv.listen(0, host, resolve)
  })
  const port = (srv.address() as net.AddressInfo).port
  await new Promise<void>((resolve) => srv.close(() => resolve()))
  return port
}
