// Pre-encoded message templates: the fast path for messages sent over and over in one fixed layout
// (the forward/reverse NAT flow-mods of every new connection).
//
// A template is derived from the same declarations as the general encoder: compiling walks the message's
// structure declaration together with a prototype message and notes, for every scalar, its byte offset and
// wire type. Everything else (header, lengths, padding, OXM and action headers) is fixed by the layout and
// taken from the prototype's own encoding. Encoding a message then copies those bytes and stores only the
// scalars, after a check that the message has the prototype's layout; a message that does not (another
// field, a mask, one action more) is handed to the general encoder, so the result is always the bytes
// encode() produces.
import { encode, writer } from './codec';
import { OfpEncodeError } from './errors';
import { messagesByName } from './messages';
import { matchCodec, oxmCodec, oxmFieldDecl } from './oxm';
import { Codec, Item, SCALAR_SIZE, ScalarType, StructCodec, UnionCodec, helpers, scalarStore } from './schema';
import { OFP_HEADER_LEN } from './constants';
import type { FlowMod, OfpMessage } from './types';

/** A message layout the template compiler cannot fix (variable-size data, opaque bytes, strings ...). */
export class OfpTemplateError extends Error {
  override readonly name = 'OfpTemplateError';
  constructor(readonly path: string, readonly reason: string) {
    super(`cannot make a template of ${path}: ${reason}`);
  }
}

export interface MessageTemplate<M extends OfpMessage> {
  /** Byte length of every message of this layout. */
  readonly length: number;
  /** Whether `msg` has the template's layout, i.e. encode(msg) takes the fast path. */
  fits(msg: M): boolean;
  /** The same bytes as the general encode(msg); fast when the message fits the layout. */
  encode(msg: M): Buffer;
}

export type FlowModTemplate = MessageTemplate<FlowMod>;

const q = JSON.stringify;

/** What the walk collects: layout checks, value loads and stores, as generated source lines. */
class Generated {
  checks: string[] = [];
  stores: string[] = [];
  private locals = 0;
  /** A local holding `expr`, loaded after the checks so far (which guarantee its container exists). */
  local(expr: string): string {
    const name = `c${this.locals++}`;
    this.checks.push(`const ${name} = ${expr};`);
    return name;
  }
  expect(condition: string): void {
    this.checks.push(`if (!(${condition})) return null;`);
  }
  scalar(type: ScalarType, expr: string, offset: number, path: string): void {
    const v = this.local(expr);
    this.stores.push(scalarStore(type, v, `at + ${offset}`, q(path)));
  }
}

const isStruct = (c: Codec): c is StructCodec => 'decl' in c;
const isUnion = (c: Codec): c is UnionCodec<unknown> => 'memberFor' in c;

/** Walks one value of codec `of` at `offset`; returns the offset after it. */
function walkValue(of: Codec, proto: unknown, expr: string, offset: number, path: string, g: Generated): number {
  if (of === oxmCodec) return walkOxm(proto, expr, offset, path, g);
  if (of === matchCodec) {
    const oxms = walkArray(proto, expr, path, g);
    let p = offset + 4;
    oxms.forEach((oxm, i) => { p = walkOxm(oxm, `${oxms.local}[${i}]`, p, `${path}[${i}]`, g); });
    return offset + ((p - offset + 7) & ~7);
  }
  let struct: Codec | undefined = of;
  if (isUnion(of)) {
    if (proto === null || typeof proto !== 'object') throw new OfpTemplateError(path, 'expected an object');
    struct = of.memberFor(proto as Record<string, unknown>);
    const obj = g.local(expr);
    g.expect(`${obj} !== null && typeof ${obj} === 'object' && ${obj}.type === ${q((proto as { type?: unknown }).type)}`);
    expr = obj;
  }
  if (!struct || !isStruct(struct)) throw new OfpTemplateError(path, `${of.name} has no fixed declaration`);
  return walkStruct(struct.decl.items, proto as Record<string, unknown>, expr, offset, path, g);
}

function walkArray(proto: unknown, expr: string, path: string, g: Generated): unknown[] & { local: string } {
  if (!Array.isArray(proto)) throw new OfpTemplateError(path, 'expected an array');
  const local = g.local(expr);
  g.expect(`Array.isArray(${local}) && ${local}.length === ${proto.length}`);
  return Object.assign([...proto], { local });
}

function walkOxm(proto: unknown, expr: string, offset: number, path: string, g: Generated): number {
  const oxm = proto as { field?: unknown; mask?: unknown };
  const decl = typeof oxm?.field === 'string' ? oxmFieldDecl(oxm.field) : undefined;
  if (!decl) throw new OfpTemplateError(path, `OXM ${String(oxm?.field)} is not a field of the OXM table (raw OXMs have no fixed layout)`);
  const o = g.local(expr);
  const masked = oxm.mask !== undefined;
  g.expect(`${o} !== null && typeof ${o} === 'object' && ${o}.field === ${q(decl.name)} && ${o}.mask ${masked ? '!==' : '==='} undefined`);
  const size = SCALAR_SIZE[decl.type];
  const valueAt = offset + 4 + (decl.experimenter ? 6 : 0);
  g.scalar(decl.type, `${o}.value`, valueAt, `${path}.value`);
  if (masked) g.scalar(decl.type, `${o}.mask`, valueAt + size, `${path}.mask`);
  return valueAt + (masked ? 2 : 1) * size;
}

function walkStruct(items: Item[], proto: Record<string, unknown>, expr: string, offset: number, path: string, g: Generated): number {
  if (proto === null || typeof proto !== 'object') throw new OfpTemplateError(path, 'expected an object');
  let p = offset;
  for (const item of items) {
    switch (item.kind) {
      case 'scalar': g.scalar(item.type, `${expr}[${q(item.name)}]`, p, `${path}.${item.name}`); p += SCALAR_SIZE[item.type]; break;
      case 'pad': p += item.size; break;
      case 'tag': p += item.width; break;
      case 'selfLen': p += 2; break;
      case 'value': p = walkValue(item.of, proto[item.name], `${expr}[${q(item.name)}]`, p, `${path}.${item.name}`, g); break;
      case 'list':
      case 'sizedList': {
        const elements = walkArray(proto[item.name], `${expr}[${q(item.name)}]`, `${path}.${item.name}`, g);
        if (item.kind === 'sizedList') p += 2 + item.padAfter;
        elements.forEach((el, i) => { p = walkValue(item.of, el, `${elements.local}[${i}]`, p, `${path}.${item.name}[${i}]`, g); });
        break;
      }
      default: throw new OfpTemplateError(`${path}.${item.name}`, `a ${item.kind} item has no fixed layout in a template`);
    }
  }
  const lenItem = items.find((x) => x.kind === 'selfLen');
  return lenItem?.kind === 'selfLen' && lenItem.align === 8 ? offset + ((p - offset + 7) & ~7) : p;
}

/** Compiles a template for messages laid out like `prototype` (any message type declared as one structure). */
export function compileMessageTemplate<M extends OfpMessage>(prototype: M): MessageTemplate<M> {
  const codec = messagesByName.get(prototype?.type);
  if (!codec?.struct) throw new OfpTemplateError(String(prototype?.type), 'not a message declared as one structure');
  const bytes = encode(prototype); // also validates every value of the prototype
  const g = new Generated();
  g.expect(`m !== null && typeof m === 'object' && m.type === ${q(prototype.type)} && m.version === ${prototype.version === undefined ? 'undefined' : prototype.version}`);
  g.scalar('u32', 'm.xid', 4, `${prototype.type}.xid`);
  const end = walkStruct(codec.struct.decl.items, prototype as unknown as Record<string, unknown>, 'm', OFP_HEADER_LEN, prototype.type, g);
  if (end !== bytes.length) throw new Error(`template of ${prototype.type}: layout walk ends at ${end}, encoding is ${bytes.length} bytes`);
  const fixed = new Uint8Array(bytes); // a private copy: the encoding itself is a view into the shared slab
  const src = `
    function storeAll(m) {
      ${g.checks.join('\n      ')}
      const at = W.begin(${fixed.length}); const b = W.buf;
      b.set(T, at);
      ${g.stores.join('\n      ')}
      W.pos = at + ${fixed.length};
      return W.finish();
    }
    function fits(m) { return check(m) !== null; }
    function check(m) {
      ${g.checks.join('\n      ')}
      return true;
    }
    function encodeTemplated(m) {
      let out;
      try {
        out = storeAll(m);
      } catch (err) {
        // A bad value: encode() throws its own error for it, so errors are exactly encode()'s. Should
        // encode() accept the message, the template is wrong, and its error must not be hidden.
        E(m);
        throw err;
      }
      return out === null ? E(m) : out;
    }
    return { fits, encode: encodeTemplated };`;
  const built = new Function('H', 'W', 'T', 'E', src)(helpers, writer, fixed, encode) as Pick<MessageTemplate<M>, 'fits' | 'encode'>;
  const template = { length: fixed.length, fits: built.fits, encode: built.encode };
  if (!template.fits(prototype) || !template.encode(prototype).equals(bytes)) {
    throw new OfpEncodeError(prototype.type, 'internal error: the template does not reproduce its prototype');
  }
  return template;
}

/**
 * A flow-mod encoder specialised to the prototype's layout: same match fields in the same order (with or
 * without mask), same instructions and actions (set_field of the same fields). Per message it copies the
 * pre-encoded bytes and stores the values: xid, cookie, priority, timeouts, OXM values, ports ...
 */
export function compileFlowModTemplate(prototype: FlowMod): FlowModTemplate {
  if (prototype?.type !== 'flow_mod') throw new OfpTemplateError(String(prototype?.type), 'compileFlowModTemplate needs a flow_mod prototype');
  return compileMessageTemplate(prototype);
}
