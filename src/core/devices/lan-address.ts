/**
 * The host's LAN IPv4 addresses, for the pool URLs Hashyard offers miners. A miner needs an
 * address it can route to: never `localhost` (that is the miner itself) and never a `.local`
 * name (most miner firmware has no mDNS resolver). Loopback, link-local (169.254/16, no DHCP)
 * virtual bridges (Docker, libvirt, VirtualBox, veth pairs) and VPN tunnels are skipped: miners
 * cannot reach them. Pure over the interface list so it is tested without a network.
 */
import os from 'node:os'
import { intToIp, ipToInt } from '../discovery/ip-range'

export interface LanAddress {
  address: string
  interface: string
  /** The subnet, e.g. `192.168.1.0/24`, when the OS reports a netmask. */
  cidr: string | null
}

/**
 * Interface names of container and VM bridges, virtual Ethernet pairs, and VPN tunnels (a miner
 * on the LAN cannot route to a Tailscale or WireGuard address).
 */
const VIRTUAL =
  /^(docker\d*|br-[0-9a-f]+|veth|virbr|vboxnet|vmnet|cni|flannel|cali|lxcbr|lxdbr|podman|kube-bridge|tun|tap|wg|tailscale|utun|zt)/i

function isPrivate(n: number): boolean {
  const a = n >>> 24
  const b = (n >>> 16) & 255
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)
}

function subnetOf(n: number, prefix: number): string {
  const size = 2 ** (32 - prefix)
  return `${intToIp(Math.floor(n / size) * size)}/${prefix}`
}

/** Private (RFC 1918) addresses first, then other routable ones; interface order kept otherwise. */
export function lanAddresses(
  interfaces: NodeJS.Dict<os.NetworkInterfaceInfo[]> = os.networkInterfaces(),
): LanAddress[] {
  const out: (LanAddress & { private: boolean })[] = []
  for (const [name, list] of Object.entries(interfaces)) {
    if (VIRTUAL.test(name)) continue
    for (const i of list ?? []) {
      if (i.family !== 'IPv4' || i.internal) continue
      const n = ipToInt(i.address)
      if (n === undefined) continue
      const a = n >>> 24
      if (a === 127 || a === 0 || a >= 224 || (a === 169 && ((n >>> 16) & 255) === 254)) continue
      const prefix = Number((i.cidr ?? '').split('/')[1])
      out.push({
        address: i.address,
        interface: name,
        cidr: Number.isInteger(prefix) && prefix >= 0 && prefix <= 32 ? subnetOf(n, prefix) : null,
        private: isPrivate(n),
      })
    }
  }
  out.sort((x, y) => Number(y.private) - Number(x.private))
  return out.map(({ private: _, ...rest }) => rest)
}

/** `stratum+tcp://<LAN IP>:<port>` for every LAN address. */
export function appPoolUrls(
  port: number,
  interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>,
): (LanAddress & { url: string })[] {
  return lanAddresses(interfaces).map((a) => ({ ...a, url: `stratum+tcp://${a.address}:${port}` }))
}
