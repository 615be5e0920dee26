import type os from 'node:os'
import { describe, expect, it } from 'vitest'
import { appPoolUrls, lanAddresses } from './lan-address'

const v4 = (address: string, cidr: string | null, internal = false): os.NetworkInterfaceInfo => ({
  address,
  netmask: '255.255.255.0',
  family: 'IPv4',
  mac: '02:00:00:00:00:01',
  internal,
  cidr,
})
const v6 = (address: string): os.NetworkInterfaceInfo => ({
  address,
  netmask: 'ffff:ffff:ffff:ffff::',
  family: 'IPv6',
  mac: '02:00:00:00:00:01',
  internal: false,
  cidr: `${address}/64`,
  scopeid: 0,
})

/** What a Linux farm PC with Docker, libvirt and a Wi-Fi card reports. */
const FARM_PC: NodeJS.Dict<os.NetworkInterfaceInfo[]> = {
  lo: [v4('127.0.0.1', '127.0.0.1/8', true), { ...v6('::1'), internal: true }],
  tun0: [v4('100.96.1.7', '100.96.1.7/32')],
  eth0: [v4('192.168.1.20', '192.168.1.20/24'), v6('fe80::1')],
  docker0: [v4('172.17.0.1', '172.17.0.1/16')],
  'br-3f2a9c1d4e5b': [v4('172.18.0.1', '172.18.0.1/16')],
  veth12ab34: [v4('169.254.10.1', '169.254.10.1/16')],
  virbr0: [v4('192.168.122.1', '192.168.122.1/24')],
  wlan0: [v4('10.0.5.33', '10.0.5.33/22'), v4('169.254.7.7', '169.254.7.7/16')],
}

describe('LAN addresses for the pool URLs offered to miners', () => {
  it('keeps real LAN interfaces and skips loopback, link-local, IPv6, virtual bridges and VPN tunnels', () => {
    expect(lanAddresses(FARM_PC)).toEqual([
      { address: '192.168.1.20', interface: 'eth0', cidr: '192.168.1.0/24' },
      { address: '10.0.5.33', interface: 'wlan0', cidr: '10.0.4.0/22' },
    ])
  })

  it('builds stratum+tcp://<LAN IP>:<port>, never localhost or a .local name', () => {
    const urls = appPoolUrls(3333, FARM_PC).map((u) => u.url)
    expect(urls).toEqual(['stratum+tcp://192.168.1.20:3333', 'stratum+tcp://10.0.5.33:3333'])
    for (const u of urls) expect(u).not.toMatch(/localhost|\.local|127\./)
  })

  it('puts private addresses first and returns nothing for a loopback-only host', () => {
    expect(
      lanAddresses({ eth1: [v4('203.0.113.5', '203.0.113.5/24')], eth0: [v4('192.168.1.2', '192.168.1.2/24')] }).map(
        (a) => a.address,
      ),
    ).toEqual(['192.168.1.2', '203.0.113.5'])
    expect(lanAddresses({ lo: [v4('127.0.0.1', '127.0.0.1/8', true)] })).toEqual([])
    expect(lanAddresses({ eth0: [v4('192.168.1.2', null)] })).toEqual([
      { address: '192.168.1.2', interface: 'eth0', cidr: null },
    ])
  })
})
