/**
 * Version negotiation (OpenFlow 1.3.5 §6.3.1), pure. The peer's hello is read from raw bytes on
 * purpose: a hello may carry any version (an OpenFlow 1.0 switch says version 1), and the codec only
 * speaks 1.3, so the runtime must understand it before deciding whether to speak at all.
 */

export const OFP13_VERSION = 4;
const OFP_HEADER_LEN = 8;
const OFPHET_VERSIONBITMAP = 1;

export interface PeerHello {
  /** The version in the hello's header: the highest the peer supports. */
  headerVersion: number;
  /** Versions from the OFPHET_VERSIONBITMAP element, if the peer sent one. */
  bitmapVersions?: number[];
}

export type Negotiation = { ok: true; version: number } | { ok: false; reason: string };

/** Reads the header version and the version-bitmap element of a whole hello message. */
export function parsePeerHello(message: Buffer): PeerHello {
  const headerVersion = message[0];
  const length = Math.min(message.readUInt16BE(2), message.length);
  let offset = OFP_HEADER_LEN;
  // Elements are TLVs padded to 8 bytes; a malformed one ends the walk (the header version still counts).
  while (offset + 4 <= length) {
    const elemType = message.readUInt16BE(offset);
    const elemLen = message.readUInt16BE(offset + 2);
    if (elemLen < 4 || offset + elemLen > length) break;
    if (elemType === OFPHET_VERSIONBITMAP) {
      return { headerVersion, bitmapVersions: versionsFromBitmaps(message.subarray(offset + 4, offset + elemLen)) };
    }
    offset += Math.ceil(elemLen / 8) * 8;
  }
  return { headerVersion };
}

/** Versions are a header byte (0..255): only the first 8 bitmap words can name one, however long the element. */
const MAX_BITMAP_BYTES = 32;

function versionsFromBitmaps(bitmaps: Buffer): number[] {
  const versions: number[] = [];
  const end = Math.min(bitmaps.length, MAX_BITMAP_BYTES);
  for (let word = 0; word + 4 <= end; word += 4) {
    const bits = bitmaps.readUInt32BE(word);
    for (let bit = 0; bit < 32; bit++) if (bits & (1 << bit)) versions.push(word * 8 + bit);
  }
  return versions;
}

/** We speak only OpenFlow 1.3; decide whether the peer does too. */
export function negotiateVersion(peer: PeerHello, ours: readonly number[] = [OFP13_VERSION]): Negotiation {
  if (peer.bitmapVersions !== undefined) {
    const common = peer.bitmapVersions.filter((v) => ours.includes(v));
    if (common.length > 0) return { ok: true, version: Math.max(...common) };
    return {
      ok: false,
      reason: `no common version: peer supports ${describe(peer.bitmapVersions)}, we support ${describe(ours)}`,
    };
  }
  // Without a bitmap the session version is the smaller of the two header versions.
  const version = Math.min(peer.headerVersion, Math.max(...ours));
  if (ours.includes(version)) return { ok: true, version };
  return { ok: false, reason: `peer's highest version is 0x${hex(peer.headerVersion)}, we support ${describe(ours)}` };
}

/** The hello we send: header version 1.3 and a version-bitmap element with bit 4 set. */
export function versionBitmap(versions: readonly number[] = [OFP13_VERSION]): number {
  return versions.reduce((bits, v) => bits | (1 << v), 0) >>> 0;
}

/** Versions with runs of three or more shortened (0x01, 0x05-0xff), so even all 256 make a short line. */
function describe(versions: readonly number[]): string {
  if (versions.length === 0) return 'nothing';
  const runs: string[] = [];
  for (let i = 0; i < versions.length; i++) {
    let j = i;
    while (j + 1 < versions.length && versions[j + 1] === versions[j] + 1) j++;
    if (j - i >= 2) {
      runs.push(`0x${hex(versions[i])}-0x${hex(versions[j])}`);
      i = j;
    } else runs.push(`0x${hex(versions[i])}`);
  }
  return runs.join(', ');
}

function hex(v: number): string {
  return v.toString(16).padStart(2, '0');
}
