// The declaration language for wire structures and its compiler.
//
// A structure is declared once as a list of items (scalars, padding, derived lengths, nested values and lists).
// compileStruct() turns a declaration into a specialised decoder and encoder by generating straight-line
// JavaScript for it at module load, so the hot path reads fixed offsets and builds one object literal
// instead of walking the table for every field. Unions (actions, instructions, bands, properties, messages)
// register their members by type code, so decoding picks a member with one Map lookup.
import { OfpDecodeError, OfpEncodeError } from './errors';
import {
  Writer, cursor, readIpv4, readIpv6, readMac, writeIpv4, writeIpv6, writeMac, readFixedString, writeFixedString, readU64, writeU64,
} from './wire';

export type ScalarType = 'u8' | 'u16' | 'u24' | 'u32' | 'u64' | 'mac' | 'ipv4' | 'ipv6';

/** Compiled codec of one value kind. dec() leaves the next offset in cursor.pos. */
export interface Codec<T = unknown> {
  /** Bytes a value needs at least; decoders check this before reading. */
  readonly min: number;
  readonly name: string;
  dec(b: Buffer, o: number, end: number): T;
  enc(w: Writer, v: T, path: string): void;
}

export type Item =
  | { kind: 'scalar'; name: string; type: ScalarType }
  | { kind: 'pad'; size: number }
  /** A constant (union discriminator): written on encode, skipped on decode (the union already matched it). */
  | { kind: 'tag'; width: 1 | 2 | 4; value: number }
  /**
   * The structure's own 16-bit length, derived on encode. align 8 pads the structure to a multiple of 8;
   * countsPad says whether the length includes that padding.
   */
  | { kind: 'selfLen'; align: 1 | 8; countsPad: boolean }
  | { kind: 'str'; name: string; size: number }
  | { kind: 'array'; name: string; type: 'u32'; count: number }
  /** Everything up to the end of the structure, as bytes. */
  | { kind: 'bytes'; name: string }
  /** Everything up to the end of the structure, as a list of unsigned integers of the given width. */
  | { kind: 'numbers'; name: string; width: 1 | 4 }
  /** Elements of a codec repeated up to the end of the structure. */
  | { kind: 'list'; name: string; of: Codec }
  /** A list preceded by its own u16 byte length (then padAfter zero bytes), e.g. packet_out actions. */
  | { kind: 'sizedList'; name: string; of: Codec; padAfter: number }
  /** One nested value of a codec (a fixed structure, a match, an OXM ...). */
  | { kind: 'value'; name: string; of: Codec };

// Short constructors so declarations read like the spec's structs.
export const u8 = (name: string): Item => ({ kind: 'scalar', name, type: 'u8' });
export const u16 = (name: string): Item => ({ kind: 'scalar', name, type: 'u16' });
export const u24 = (name: string): Item => ({ kind: 'scalar', name, type: 'u24' });
export const u32 = (name: string): Item => ({ kind: 'scalar', name, type: 'u32' });
export const u64 = (name: string): Item => ({ kind: 'scalar', name, type: 'u64' });
export const mac = (name: string): Item => ({ kind: 'scalar', name, type: 'mac' });
export const ipv4 = (name: string): Item => ({ kind: 'scalar', name, type: 'ipv4' });
export const ipv6 = (name: string): Item => ({ kind: 'scalar', name, type: 'ipv6' });
export const pad = (size: number): Item => ({ kind: 'pad', size });
export const tag16 = (value: number): Item => ({ kind: 'tag', width: 2, value });
export const tag32 = (value: number): Item => ({ kind: 'tag', width: 4, value });
export const len16 = (align: 1 | 8 = 1, countsPad = true): Item => ({ kind: 'selfLen', align, countsPad });
export const str = (name: string, size: number): Item => ({ kind: 'str', name, size });
export const u32s = (name: string, count: number): Item => ({ kind: 'array', name, type: 'u32', count });
export const bytes = (name: string): Item => ({ kind: 'bytes', name });
export const numbers = (name: string, width: 1 | 4): Item => ({ kind: 'numbers', name, width });
export const list = (name: string, of: Codec): Item => ({ kind: 'list', name, of });
export const sizedList = (name: string, of: Codec, padAfter: number): Item => ({ kind: 'sizedList', name, of, padAfter });
export const value = (name: string, of: Codec): Item => ({ kind: 'value', name, of });

export const SCALAR_SIZE: Record<ScalarType, number> = { u8: 1, u16: 2, u24: 3, u32: 4, u64: 8, mac: 6, ipv4: 4, ipv6: 16 };

function fixedSize(item: Item): number | undefined {
  switch (item.kind) {
    case 'scalar': return SCALAR_SIZE[item.type];
    case 'pad': return item.size;
    case 'tag': return item.width;
    case 'selfLen': return 2;
    case 'str': return item.size;
    case 'array': return 4 * item.count;
    default: return undefined;
  }
}

// ---------------------------------------------------------------- runtime helpers used by generated code

const MAX_U64 = (1n << 64n) - 1n;

function truncated(what: string, o: number, have: number, need: number): never {
  throw new OfpDecodeError(`${what} truncated: ${have} bytes left, needs ${need}`, o);
}

export const helpers = {
  truncated,
  lenTooShort(what: string, o: number, len: number, min: number): never {
    throw new OfpDecodeError(`${what} length ${len} is shorter than its minimum ${min}`, o);
  },
  lenOverflow(what: string, o: number, len: number, room: number): never {
    throw new OfpDecodeError(`${what} length ${len} overflows its container (${room} bytes left)`, o);
  },
  trailing(what: string, p: number, extra: number): never {
    throw new OfpDecodeError(`${what} has ${extra} unexpected trailing bytes`, p);
  },
  noProgress(what: string, p: number): never {
    throw new OfpDecodeError(`${what} element of zero length`, p);
  },
  bad(path: string, v: unknown, type: string): never {
    throw new OfpEncodeError(path, `expected ${type}, got ${typeof v === 'bigint' ? `${v}n` : String(v)}`);
  },
  tooLong(path: string, len: number): never {
    throw new OfpEncodeError(path, `length ${len} does not fit in 16 bits`);
  },
  notArray(path: string): never {
    throw new OfpEncodeError(path, 'expected an array');
  },
  notMaskable(path: string, field: string): never {
    throw new OfpEncodeError(path, `OXM field ${field} is not maskable`);
  },
  /** Re-throws an element's encode error with the element's index in its path. */
  atIndex(err: unknown, path: string, i: number): never {
    if (err instanceof OfpEncodeError && err.path.startsWith(path)) {
      throw new OfpEncodeError(`${path}[${i}]${err.path.slice(path.length)}`, err.reason);
    }
    throw err;
  },
  /** Re-throws a value's encode error under the path of the field that holds it. */
  relabel(err: unknown, path: string): never {
    if (err instanceof OfpEncodeError) throw new OfpEncodeError(path, err.reason);
    throw err;
  },
  readMac, readIpv4, readIpv6, writeMac, writeIpv4, writeIpv6, readFixedString, writeFixedString,
  MAX_U64,
  readU64,
  writeU64,
  cursor,
};

function decodeList(of: Codec, b: Buffer, p: number, e: number, what: string): unknown[] {
  const out: unknown[] = [];
  while (p < e) {
    out.push(of.dec(b, p, e));
    if (cursor.pos <= p) helpers.noProgress(what, p);
    p = cursor.pos;
  }
  cursor.pos = p;
  return out;
}

/**
 * Encodes each element with the list's own path and adds the element's index only when it fails:
 * building `path[i]` for every element of every message cost more than writing most elements.
 */
export function encodeElements(of: Codec, w: Writer, arr: readonly unknown[], path: string): void {
  let i = 0;
  try {
    for (; i < arr.length; i++) of.enc(w, arr[i], path);
  } catch (err) {
    helpers.atIndex(err, path, i);
  }
}

function encodeList(of: Codec, w: Writer, v: unknown, path: string): void {
  if (!Array.isArray(v)) helpers.notArray(path);
  encodeElements(of, w, v as unknown[], path);
}

const listHelpers = { decodeList, encodeList };

// ---------------------------------------------------------------- struct compiler

export interface StructDecl {
  /** Name used in error messages and paths, e.g. 'action output'. */
  name: string;
  /** Written as `type` into the decoded object first, e.g. 'output'. */
  typeName?: string;
  /** Property that holds typeName; 'type' unless given (multipart bodies use 'mpType'). */
  typeKey?: string;
  /** Extra leading properties passed to dec() as a fourth argument (messages pass xid). */
  withXid?: boolean;
  items: Item[];
}

export interface StructCodec<T = Record<string, unknown>> extends Codec<T> {
  /** Decode with the message xid placed after `type` (message bodies only). */
  decWithXid(b: Buffer, o: number, end: number, xid: number): T;
  readonly decl: StructDecl;
}

const q = JSON.stringify;

/** Generated decoder source for one item; `e` is the structure end, `p` the cursor. */
function decodeItem(item: Item, i: number, what: string, vars: string[]): string {
  switch (item.kind) {
    case 'scalar': {
      const v = `v${i}`;
      vars.push(`${q(item.name)}: ${v}`);
      switch (item.type) {
        case 'u8': return `const ${v} = b[p]; p += 1;`;
        case 'u16': return `const ${v} = (b[p] << 8) | b[p + 1]; p += 2;`;
        case 'u24': return `const ${v} = (b[p] << 16) | (b[p + 1] << 8) | b[p + 2]; p += 3;`;
        case 'u32': return `const ${v} = b[p] * 16777216 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]); p += 4;`;
        case 'u64': return `const ${v} = H.readU64(b, p); p += 8;`;
        case 'mac': return `const ${v} = H.readMac(b, p); p += 6;`;
        case 'ipv4': return `const ${v} = H.readIpv4(b, p); p += 4;`;
        case 'ipv6': return `const ${v} = H.readIpv6(b, p); p += 16;`;
      }
      break;
    }
    case 'pad': return `p += ${item.size};`;
    case 'tag': return `p += ${item.width};`;
    case 'selfLen': return 'p += 2;';
    case 'str': vars.push(`${q(item.name)}: v${i}`); return `const v${i} = H.readFixedString(b, p, ${item.size}); p += ${item.size};`;
    case 'array': {
      vars.push(`${q(item.name)}: v${i}`);
      const reads = Array.from({ length: item.count }, (_, k) => `b.readUInt32BE(p + ${4 * k})`);
      return `const v${i} = [${reads.join(', ')}]; p += ${4 * item.count};`;
    }
    case 'bytes': vars.push(`${q(item.name)}: v${i}`); return `const v${i} = b.subarray(p, e); p = e;`;
    case 'numbers': {
      vars.push(`${q(item.name)}: v${i}`);
      const w = item.width;
      return `if ((e - p) % ${w} !== 0) H.trailing(${q(what + ' ' + item.name)}, p, (e - p) % ${w});
        const v${i} = []; for (; p < e; p += ${w}) v${i}.push(${w === 1 ? 'b[p]' : 'b.readUInt32BE(p)'});`;
    }
    case 'list':
      vars.push(`${q(item.name)}: v${i}`);
      return `const v${i} = L.decodeList(S[${i}], b, p, e, ${q(what + ' ' + item.name)}); p = C.pos;`;
    case 'sizedList':
      vars.push(`${q(item.name)}: v${i}`);
      return `const n${i} = (b[p] << 8) | b[p + 1]; p += ${2 + item.padAfter};
        if (n${i} > e - p) H.lenOverflow(${q(what + ' ' + item.name)}, p - ${2 + item.padAfter}, n${i}, e - p);
        const v${i} = L.decodeList(S[${i}], b, p, p + n${i}, ${q(what + ' ' + item.name)}); p = C.pos;`;
    case 'value':
      vars.push(`${q(item.name)}: v${i}`);
      return `const v${i} = S[${i}].dec(b, p, e); p = C.pos;`;
  }
  return unknownItem(item, i, what);
}

/**
 * A declaration item the compiler has no case for (a declaration built by hand or cast past the types): named
 * by structure, position, kind and scalar type, so the table entry to fix is found at once.
 */
function unknownItem(item: Item, i: number, what: string): never {
  const { kind, name, type } = item as { kind?: unknown; name?: unknown; type?: unknown };
  const described = `${JSON.stringify(kind)}${type === undefined ? '' : ` of type ${JSON.stringify(type)}`}`;
  const named = typeof name === 'string' ? ` '${name}'` : '';
  throw new Error(`struct '${what}': item ${i}${named} is ${described}, which the struct compiler does not know`);
}

/**
 * Generated source that checks the scalar in local `v` and stores it big-endian at `b[at...]` (cursor
 * untouched). `pathExpr` is a JS expression evaluated only when the value is bad. Shared by the struct
 * compiler, the OXM table's field encoders and the flow-mod templates, so all three agree byte for byte.
 */
export function scalarStore(type: ScalarType, v: string, at: string, pathExpr: string): string {
  const bad = (what: string): string => `H.bad(${pathExpr}, ${v}, '${what}')`;
  switch (type) {
    case 'u8': return `if ((${v} & 0xff) !== ${v}) ${bad('u8')}; b[${at}] = ${v};`;
    case 'u16': return `if ((${v} & 0xffff) !== ${v}) ${bad('u16')}; b[${at}] = ${v} >>> 8; b[${at} + 1] = ${v} & 0xff;`;
    case 'u24': return `if ((${v} & 0xffffff) !== ${v}) ${bad('u24')}; b[${at}] = ${v} >>> 16; b[${at} + 1] = (${v} >>> 8) & 0xff; b[${at} + 2] = ${v} & 0xff;`;
    case 'u32': return `if (${v} >>> 0 !== ${v}) ${bad('u32')}; b[${at}] = ${v} >>> 24; b[${at} + 1] = (${v} >>> 16) & 0xff; b[${at} + 2] = (${v} >>> 8) & 0xff; b[${at} + 3] = ${v} & 0xff;`;
    case 'u64': return `if (typeof ${v} !== 'bigint' || ${v} < 0n || ${v} > H.MAX_U64) ${bad('u64 bigint')}; H.writeU64(b, ${at}, ${v});`;
    // Address text parsers name the path in their own error, so it is built once they fail.
    case 'mac': return `try { H.writeMac(b, ${at}, ${v}, ''); } catch (err) { H.relabel(err, ${pathExpr}); }`;
    case 'ipv4': return `try { H.writeIpv4(b, ${at}, ${v}, ''); } catch (err) { H.relabel(err, ${pathExpr}); }`;
    case 'ipv6': return `try { H.writeIpv6(b, ${at}, ${v}, ''); } catch (err) { H.relabel(err, ${pathExpr}); }`;
  }
}

function encodeItem(item: Item, i: number, what: string): string {
  const path = (name: string): string => q(`${what}.${name}`);
  const get = (name: string): string => `m[${q(name)}]`;
  switch (item.kind) {
    case 'scalar': {
      const v = `x${i}`;
      return `const ${v} = ${get(item.name)}; ${scalarStore(item.type, v, 'p', path(item.name))} p += ${SCALAR_SIZE[item.type]};`;
    }
    case 'pad': return item.size <= 8
      ? `${Array.from({ length: item.size }, (_, k) => `b[p + ${k}] = 0;`).join(' ')} p += ${item.size};`
      : `b.fill(0, p, p + ${item.size}); p += ${item.size};`;
    case 'tag': return item.width === 2
      ? `b[p] = ${item.value >>> 8}; b[p + 1] = ${item.value & 0xff}; p += 2;`
      : `b.writeUInt32BE(${item.value}, p); p += 4;`;
    case 'selfLen': return 'const lenAt = p; p += 2;';
    case 'str': return `H.writeFixedString(b, p, ${item.size}, ${get(item.name)}, ${path(item.name)}); p += ${item.size};`;
    case 'array': {
      const checks = Array.from({ length: item.count }, (_, k) =>
        `{ const y = a${i}[${k}]; if (y >>> 0 !== y) H.bad(${path(`${item.name}[${k}]`)}, y, 'u32'); b.writeUInt32BE(y, p + ${4 * k}); }`);
      return `const a${i} = ${get(item.name)}; if (!Array.isArray(a${i}) || a${i}.length !== ${item.count}) H.bad(${path(item.name)}, a${i}, 'array of ${item.count} u32');
        ${checks.join('\n')} p += ${4 * item.count};`;
    }
    // Variable-size items hand over to the writer and take the (possibly regrown) buffer back.
    case 'bytes': return `w.pos = p; w.bytes(${get(item.name)}, ${path(item.name)}); p = w.pos; b = w.buf;`;
    case 'numbers': return `{ const a = ${get(item.name)}; if (!Array.isArray(a)) H.notArray(${path(item.name)});
        w.pos = p; w.ensure(a.length * ${item.width}); b = w.buf;
        for (const y of a) { ${item.width === 1
          ? `if ((y & 0xff) !== y) H.bad(${path(item.name)}, y, 'u8'); b[p] = y; p += 1;`
          : `if (y >>> 0 !== y) H.bad(${path(item.name)}, y, 'u32'); b.writeUInt32BE(y, p); p += 4;`} } }`;
    // The element loop is inlined: two calls fewer per list, and lists (instructions, actions) are per message.
    case 'list': return `{ const a = ${get(item.name)}; if (!Array.isArray(a)) H.notArray(${path(item.name)});
        const c = S[${i}]; let k = 0; w.pos = p;
        try { for (; k < a.length; k++) c.enc(w, a[k], ${path(item.name)}); } catch (err) { H.atIndex(err, ${path(item.name)}, k); }
        p = w.pos; b = w.buf; }`;
    case 'sizedList': return `const at${i} = p; ${Array.from({ length: 2 + item.padAfter }, (_, k) => `b[p + ${k}] = 0;`).join(' ')} p += ${2 + item.padAfter};
        w.pos = p; L.encodeList(S[${i}], w, ${get(item.name)}, ${path(item.name)}); p = w.pos; b = w.buf;
        { const n = p - at${i} - ${2 + item.padAfter}; if (n > 0xffff) H.tooLong(${path(item.name)}, n); b[at${i}] = n >>> 8; b[at${i} + 1] = n & 0xff; }`;
    case 'value': return `w.pos = p; S[${i}].enc(w, ${get(item.name)}, ${path(item.name)}); p = w.pos; b = w.buf;`;
  }
  return unknownItem(item, i, what);
}

/** Compiles a structure declaration into a specialised decoder/encoder pair. */
export function compileStruct<T = Record<string, unknown>>(decl: StructDecl): StructCodec<T> {
  const { items, name: what } = decl;
  // Split into runs of fixed-size items; each run gets one bounds check (decode) / one ensure (encode).
  let min = 0;
  let seenVariable = false;
  let lenOffset = -1;
  const lenItem = items.find((x) => x.kind === 'selfLen') as Extract<Item, { kind: 'selfLen' }> | undefined;
  const hasRest = items.some((x) => x.kind === 'bytes' || x.kind === 'numbers' || x.kind === 'list');
  const subCodecs: (Codec | undefined)[] = items.map((x) => ('of' in x ? x.of : undefined));
  const decLines: string[] = [];
  const encLines: string[] = [];
  const vars: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const size = fixedSize(item);
    if (size !== undefined) {
      if (seenVariable) {
        // Start of a fixed run after a variable item: check/ensure the whole run at once.
        let run = 0;
        for (let j = i; j < items.length && fixedSize(items[j]) !== undefined; j++) run += fixedSize(items[j])!;
        if (i === 0 || fixedSize(items[i - 1]) === undefined) {
          decLines.push(`if (e - p < ${run}) H.truncated(${q(what)}, p, e - p, ${run});`);
          encLines.push(`w.pos = p; w.ensure(${run}); b = w.buf;`);
        }
      } else {
        if (item.kind === 'selfLen') lenOffset = min;
        min += size;
      }
    } else {
      seenVariable = true;
      min += item.kind === 'value' ? item.of.min : item.kind === 'sizedList' ? 2 + item.padAfter : 0;
      if (item.kind === 'sizedList') {
        encLines.push(`w.pos = p; w.ensure(${2 + item.padAfter}); b = w.buf;`);
      }
    }
    decLines.push(decodeItem(item, i, what, vars));
    encLines.push(encodeItem(item, i, what));
  }
  if (lenItem && lenOffset < 0) throw new Error(`${what}: the length field must be at a fixed offset`);
  const fixedHead = (() => { let s = 0; for (const it of items) { const f = fixedSize(it); if (f === undefined) break; s += f; } return s; })();

  const typeProp = decl.typeName !== undefined ? `${q(decl.typeKey ?? 'type')}: ${q(decl.typeName)}, ` : '';
  const xidProp = decl.withXid ? 'xid: x, ' : '';
  const endCheck = lenItem || hasRest || decl.withXid;
  const decSrc = `
    return function dec(b, o, end, x) {
      if (end - o < ${fixedHead}) H.truncated(${q(what)}, o, end - o, ${fixedHead});
      let p = o;
      ${lenItem ? `const len = (b[o + ${lenOffset}] << 8) | b[o + ${lenOffset + 1}];
      if (len < ${min}) H.lenTooShort(${q(what)}, o, len, ${min});
      if (len > end - o) H.lenOverflow(${q(what)}, o, len, end - o);
      const e = o + len;
      ${lenItem.align === 8 && !lenItem.countsPad ? `const next = o + ((len + 7) & ~7);
      if (next > end) H.lenOverflow(${q(what + ' padding')}, o, next - o, end - o);` : ''}` : 'const e = end;'}
      ${decLines.join('\n      ')}
      ${endCheck ? (lenItem && lenItem.align === 8 && lenItem.countsPad
        ? `if (e - p >= 8 || e < p) H.trailing(${q(what)}, p, e - p); p = e;`
        : `if (p !== e) H.trailing(${q(what)}, p, e - p);`) : ''}
      C.pos = ${lenItem && lenItem.align === 8 && !lenItem.countsPad ? 'next' : 'p'};
      return { ${typeProp}${xidProp}${vars.join(', ')} };
    };`;
  const encSrc = `
    return function enc(w, m, path) {
      if (m === null || typeof m !== 'object') H.bad(path, m, 'an object');
      w.ensure(${fixedHead});
      let b = w.buf; let p = w.pos; const o = p;
      ${encLines.join('\n      ')}
      ${lenItem ? `{
        let total = p - o;
        ${lenItem.align === 8 ? `const padded = (total + 7) & ~7; w.pos = p; w.ensure(padded - total); b = w.buf;
        for (; p < o + padded; p++) b[p] = 0;
        ${lenItem.countsPad ? 'total = padded;' : ''}` : ''}
        if (total > 0xffff) H.tooLong(path, total);
        b[lenAt] = total >>> 8; b[lenAt + 1] = total & 0xff;
      }` : ''}
      w.pos = p;
    };`;
  const dec = new Function('H', 'S', 'L', 'C', decSrc)(helpers, subCodecs, listHelpers, cursor);
  const enc = new Function('H', 'S', 'L', 'C', encSrc)(helpers, subCodecs, listHelpers, cursor);
  return {
    name: what,
    min,
    decl,
    dec: (b, o, end) => dec(b, o, end, 0),
    decWithXid: dec,
    enc,
  };
}

// ---------------------------------------------------------------- unions

export interface UnionMember { key: number; typeName: string; codec: Codec }

export interface UnionDecl {
  name: string;
  /** Bytes needed to peek the key. */
  peekSize: number;
  /** Reads the registry key at o (e.g. the action type, or a combined experimenter/subtype key). */
  peek(b: Buffer, o: number, end: number): number;
  /** Called when no member is registered for the key; returns an opaque fallback or undefined for an error. */
  fallback?(key: number, b: Buffer, o: number): Codec | undefined;
  /** Picks the encoder for an object; default: by its `type` name. */
  select?(v: Record<string, unknown>): Codec | undefined;
  /** Property naming the member on encode; 'type' unless given. */
  typeKey?: string;
  /** Text for the unknown-key error. */
  describeKey?(key: number): string;
}

export interface UnionCodec<T> extends Codec<T> {
  register(key: number, typeName: string, codec: Codec): void;
  memberByKey(key: number): Codec | undefined;
  /** The member encode() would use for this value, if any. */
  memberFor(v: Record<string, unknown>): Codec | undefined;
  keyOf(typeName: string): number | undefined;
}

/** A registry of structures keyed by a type code: decoding is a lookup, encoding picks by `type` name. */
export function union<T>(decl: UnionDecl): UnionCodec<T> {
  const byKey = new Map<number, Codec>();
  const byName = new Map<string, Codec>();
  const keyByName = new Map<string, number>();
  const typeKey = decl.typeKey ?? 'type';
  return {
    name: decl.name,
    min: decl.peekSize,
    register(key, typeName, codec) {
      if (byKey.has(key)) throw new Error(`${decl.name}: key ${key} registered twice`);
      byKey.set(key, codec);
      if (!byName.has(typeName)) { byName.set(typeName, codec); keyByName.set(typeName, key); }
    },
    memberByKey: (key) => byKey.get(key),
    memberFor: (obj) => (decl.select ? decl.select(obj) : byName.get((typeKey === 'type' ? obj.type : obj[typeKey]) as string)),
    keyOf: (typeName) => keyByName.get(typeName),
    dec(b, o, end) {
      if (end - o < decl.peekSize) truncated(decl.name, o, end - o, decl.peekSize);
      const key = decl.peek(b, o, end);
      const codec = byKey.get(key) ?? decl.fallback?.(key, b, o);
      if (!codec) {
        throw new OfpDecodeError(`unknown ${decl.name} ${decl.describeKey ? decl.describeKey(key) : `type ${key}`}`, o);
      }
      return codec.dec(b, o, end) as T;
    },
    enc(w, v, path) {
      if (v === null || typeof v !== 'object') helpers.bad(path, v, `a ${decl.name} object`);
      const obj = v as Record<string, unknown>;
      const typeValue = typeKey === 'type' ? obj.type : obj[typeKey];
      const codec = decl.select ? decl.select(obj) : byName.get(typeValue as string);
      if (!codec) throw new OfpEncodeError(path, `unknown ${decl.name} type ${String(typeValue)}`);
      codec.enc(w, v, path);
    },
  };
}

/** Declares a structure and registers it in a union under its type code. */
export function member<T>(u: UnionCodec<T>, key: number, typeName: string, name: string, items: Item[], typeKey?: string): StructCodec {
  const codec = compileStruct({ name, typeName, typeKey, items });
  u.register(key, typeName, codec);
  return codec;
}

/** A codec whose value is a plain value built by two functions; for the few non-struct wire forms. */
export function custom<T>(name: string, min: number, dec: Codec<T>['dec'], enc: Codec<T>['enc']): Codec<T> {
  return { name, min, dec, enc };
}
