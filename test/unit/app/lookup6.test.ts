// ServiceTable.lookup6 passes over a single-address VIP by its fold: the answer must stay that of comparing every
// VIP's words (longest prefix first), including for an address that has another VIP's fold without being that VIP.
import { ServiceTable } from '../../../src/app/services';
import { parseConfig } from '../../../src/config';
import { foldIpv6, ipv6Words, parseIpv6 } from '../../../src/net/ipv6';
import { containsIpv6Words } from '../../../src/net/prefix';

const VIPS = ['fd00::100', 'fd00:0:0:1::100', 'fd00:0:0:2::100', 'fd00:0:0:3::/64', 'fd00:0:0:4::1', 'fd00:9::/32'];

function table(): ServiceTable {
  const services = VIPS.map((vip, i) => `  - { name: s${i}, vip: "${vip}", port: 80${vip.includes("/") ? ", scheduler: dh" : ""}, backends: [{ vnic: v${i}, ip: "fd01::${i + 1}", ports: [8080] }] }`);
  const config = parseConfig(`datapath: { nat: flows }\nservices:\n${services.join('\n')}\n`);
  const t = new ServiceTable();
  t.configure(config.services);
  return t;
}

/** lookup6 as it was: every candidate's words compared, longest prefix first. */
function byWords(t: ServiceTable, words: Uint32Array): string | undefined {
  const inside = t.all.filter((s) => s.config.port === 80 && s.vip6 !== undefined && containsIpv6Words(s.vip6, words, 0));
  return inside.sort((a, b) => b.vip6!.length - a.vip6!.length)[0]?.config.name;
}

test('lookup6 finds each single VIP, addresses in the prefix VIPs, and nothing else, as comparing every VIP does', () => {
  const t = table();
  const addresses = [
    ...VIPS.filter((v) => !v.includes('/')),
    'fd00:0:0:3::1', 'fd00:0:0:3:ffff::9', 'fd00:9:1::5', 'fd00::101', 'fd00:0:0:5::100', '::', 'fe80::1',
  ];
  for (const text of addresses) {
    const words = ipv6Words(parseIpv6(text));
    const found = t.lookup6(6, 80, words)?.config.name;
    expect([text, found]).toEqual([text, byWords(t, words)]);
    // The fold given by the caller (the packet-in's header read) gives the same answer.
    expect([text, t.lookup6(6, 80, words, 0, foldIpv6(words))?.config.name]).toEqual([text, found]);
  }
  expect(t.lookup6(6, 80, ipv6Words(parseIpv6('fd00:0:0:1::100')))?.config.name).toBe('s1');
  expect(t.lookup6(6, 80, ipv6Words(parseIpv6('fd00:0:0:3::77')))?.config.name).toBe('s3');
  expect(t.lookup6(6, 81, ipv6Words(parseIpv6('fd00::100')))).toBeUndefined();
});

test('an address with a single VIP\'s fold that is not that VIP is not its service', () => {
  const t = table();
  // fd00::100 with two words' bits swapped in a way that keeps the xor of the four words.
  const vip = ipv6Words(parseIpv6('fd00::100'));
  const twin = Uint32Array.from([vip[0] ^ 0x10, vip[1] ^ 0x10, vip[2], vip[3]]);
  expect(foldIpv6(twin)).toBe(foldIpv6(vip));
  expect(t.lookup6(6, 80, twin)).toBeUndefined();
  expect(t.lookup6(6, 80, twin, 0, foldIpv6(twin))).toBeUndefined();
  // Words read from the middle of a longer array (the packet-in's header: client 0..3, destination 4..7).
  const header = new Uint32Array(8);
  header.set(ipv6Words(parseIpv6('fd00::1')), 0);
  header.set(vip, 4);
  expect(t.lookup6(6, 80, header, 4, foldIpv6(header, 4))?.config.name).toBe('s0');
  header.set(twin, 4);
  expect(t.lookup6(6, 80, header, 4, foldIpv6(header, 4))).toBeUndefined();
});

test('prefix VIPs of one length whose masked words share the level key are told apart by their words', () => {
  // fd00:0:0:3::/64 and fd00:10:0:13::/64: the xor of the masked words is the same (0xfd000003), so both are in the
  // /64 level's list for that key; an address inside either must find its own, one inside neither nothing.
  const services = ['fd00:0:0:3::/64', 'fd00:10:0:13::/64', 'fd00:10:0:13::7'].map(
    (vip, i) => `  - { name: p${i}, vip: "${vip}", port: 80, scheduler: dh, backends: [{ vnic: v${i}, ip: "fd01::${i + 1}", ports: [8080] }] }`,
  );
  const t = new ServiceTable();
  t.configure(parseConfig(`datapath: { nat: flows }\nservices:\n${services.join('\n')}\n`).services);
  const key = (text: string) => {
    const w = ipv6Words(parseIpv6(text));
    return (w[0] ^ w[1] ^ w[2] ^ w[3]) | 0;
  };
  expect(key('fd00:0:0:3::')).toBe(key('fd00:10:0:13::'));
  expect(key('fd00:10:0:13:0:1:0:6')).toBe(key('fd00:10:0:13::7'));
  const cases: [string, string | undefined][] = [
    ['fd00:0:0:3::5', 'p0'], ['fd00:0:0:3:ffff:ffff:ffff:ffff', 'p0'], ['fd00:10:0:13::5', 'p1'], ['fd00:10:0:13:8000::1', 'p1'],
    ['fd00:10:0:13::7', 'p2'], ['fd00:0:0:13::5', undefined], ['fd00:10:0:3::5', undefined],
    // p2's fold with its last two words changed: not p2, but inside p1.
    ['fd00:10:0:13:0:1:0:6', 'p1'],
  ];
  for (const [text, name] of cases) {
    const words = ipv6Words(parseIpv6(text));
    expect([text, t.lookup6(6, 80, words, 0, foldIpv6(words))?.config.name]).toEqual([text, name]);
    expect([text, t.owner6(words)?.config.name]).toEqual([text, name]);
    expect([text, name]).toEqual([text, byWords(t, words)]);
  }
});
