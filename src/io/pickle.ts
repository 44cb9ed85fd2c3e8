// An allow-list unpickler: it understands the opcodes torch.save writes for a state dict
// and nothing else. It never imports or calls anything: GLOBAL yields a name, checked
// against the caller's allow-list, and REDUCE / BUILD / BINPERSID go to the caller's hooks,
// which give meaning to the few allowed callables (src/io/pytorch.ts).
import { CheckpointError, UnsafePickleError } from './errors.js';

export type PickleValue =
  | null | boolean | number | bigint | string
  | { kind: 'tuple'; items: PickleValue[] }
  | { kind: 'list'; items: PickleValue[] }
  | { kind: 'dict'; entries: Map<PickleKey, PickleValue> }
  | { kind: 'global'; module: string; name: string }
  /** What a hook made (a storage, a tensor), opaque to the unpickler. */
  | { kind: 'host'; value: unknown };

export type PickleKey = null | boolean | number | bigint | string;

export interface PickleHooks {
  /** Allowed globals as 'module name' (e.g. 'collections OrderedDict'). */
  globals: ReadonlySet<string>;
  persistentLoad(pid: PickleValue): PickleValue;
  reduce(callable: { module: string; name: string }, args: PickleValue[]): PickleValue;
  build(obj: PickleValue, state: PickleValue): PickleValue;
}

/** The pickle ran past the bytes given; the legacy loader then reads more and retries. */
export class PickleTruncated extends Error {}

const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1',
  0x86: 'TUPLE2', 0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4',
  0x42: 'BINBYTES', 0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8',
  0x8e: 'BINBYTES8', 0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

const MARK = Symbol('mark');

/** Short ASCII strings (names, keys) decode faster by hand than through TextDecoder. */
function ascii(b: Uint8Array): string | undefined {
  if (b.length > 256) return undefined;
  let s = '';
  for (let i = 0; i < b.length; i++) {
    if (b[i]! >= 0x80) return undefined;
    s += String.fromCharCode(b[i]!);
  }
  return s;
}
const utf8 = new TextDecoder('utf-8', { fatal: true });
const latin1 = new TextDecoder('latin1');

export function describeValue(v: PickleValue | typeof MARK | undefined): string {
  if (v === undefined) return 'nothing';
  if (v === MARK) return 'a MARK';
  if (v === null) return 'None';
  if (typeof v !== 'object') return `${typeof v} ${String(v).slice(0, 40)}`;
  if (v.kind === 'global') return `${v.module}.${v.name}`;
  if (v.kind === 'host') return 'a storage or tensor';
  return `a ${v.kind}`;
}

/**
 * Unpickles one pickle from `bytes` at `start`; returns the value and the offset after
 * STOP. `what` names the file (and entry) in errors. Throws PickleTruncated when the bytes
 * end before STOP.
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks, what: string): { value: PickleValue; end: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  let opAt = start;
  const stack: (PickleValue | typeof MARK)[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();

  const fail = (msg: string): never => { throw new CheckpointError(`${what}: ${msg} (pickle byte ${opAt})`); };
  const need = (n: number) => { if (pos + n > bytes.length) throw new PickleTruncated(`${what}: pickle ends before STOP`); };
  const u8 = () => { need(1); return bytes[pos++]!; };
  const u16 = () => { need(2); const v = dv.getUint16(pos, true); pos += 2; return v; };
  const u32 = () => { need(4); const v = dv.getUint32(pos, true); pos += 4; return v; };
  const take = (n: number) => { need(n); const b = bytes.subarray(pos, pos + n); pos += n; return b; };
  const line = () => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) throw new PickleTruncated(`${what}: pickle ends before STOP`);
    const b = bytes.subarray(pos, nl);
    const s = ascii(b) ?? latin1.decode(b);
    pos = nl + 1;
    return s;
  };
  const text = (b: Uint8Array) => {
    const s = ascii(b);
    if (s !== undefined) return s;
    try { return utf8.decode(b); } catch { return fail('string is not valid UTF-8'); }
  };
  const pop = (): PickleValue => {
    const v = stack.pop();
    if (v === undefined) return fail('stack underflow');
    if (v === MARK) return fail('unexpected MARK');
    return v;
  };
  const top = (): PickleValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v === MARK) return fail('stack underflow');
    return v;
  };
  const popMark = (): PickleValue[] => {
    const m = marks.pop();
    if (m === undefined) return fail('no MARK to pop to');
    const items = stack.splice(m);
    items.shift(); // the MARK itself
    if (items.some((x) => x === MARK)) fail('unbalanced MARK');
    return items as PickleValue[];
  };
  const put = (i: number) => memo.set(i, top());
  const get = (i: number) => {
    const v = memo.get(i);
    if (v === undefined) fail(`memo ${i} read before it was written`);
    stack.push(v!);
  };
  const asKey = (k: PickleValue): PickleKey => {
    if (k !== null && typeof k === 'object') return fail(`dict key is ${describeValue(k)}; only strings and numbers are allowed`);
    return k;
  };
  const setItems = (dict: PickleValue, items: PickleValue[]) => {
    if (dict === null || typeof dict !== 'object' || dict.kind !== 'dict') return fail(`SETITEM on ${describeValue(dict)}`);
    if (items.length % 2) fail('odd number of items for SETITEMS');
    for (let i = 0; i < items.length; i += 2) dict.entries.set(asKey(items[i]!), items[i + 1]!);
  };
  const append = (list: PickleValue, items: PickleValue[]) => {
    if (list === null || typeof list !== 'object' || list.kind !== 'list') return fail(`APPEND on ${describeValue(list)}`);
    // One at a time: push(...items) takes the items as arguments, and a million of them
    // (one APPENDS in a 1 MB file) overflow the stack.
    for (const item of items) list.items.push(item);
  };
  const tuple = (items: PickleValue[]): PickleValue => ({ kind: 'tuple', items });

  for (;;) {
    opAt = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 5) fail(`pickle protocol ${v} is newer than any known`);
        break;
      }
      case 0x95: u32(); u32(); break; // FRAME: an 8-byte length hint; the bytes are all here
      case 0x2e: { // STOP
        const value = pop();
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); stack.push(MARK); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x7d: stack.push({ kind: 'dict', entries: new Map() }); break; // EMPTY_DICT
      case 0x5d: stack.push({ kind: 'list', items: [] }); break; // EMPTY_LIST
      case 0x29: stack.push(tuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(tuple(popMark())); break; // TUPLE
      case 0x85: { const a = pop(); stack.push(tuple([a])); break; } // TUPLE1
      case 0x86: { const b = pop(), a = pop(); stack.push(tuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(), b = pop(), a = pop(); stack.push(tuple([a, b, c])); break; } // TUPLE3
      case 0x6c: stack.push({ kind: 'list', items: popMark() }); break; // LIST
      case 0x64: { // DICT
        const d: PickleValue = { kind: 'dict', entries: new Map() };
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x61: { const v = pop(); append(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(), k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: put(u8()); break; // BINPUT
      case 0x72: put(u32()); break; // LONG_BINPUT
      case 0x94: put(memo.size); break; // MEMOIZE
      case 0x68: get(u8()); break; // BINGET
      case 0x6a: get(u32()); break; // LONG_BINGET
      case 0x4a: need(4); stack.push(dv.getInt32(pos, true)); pos += 4; break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x8a: { // LONG1: n bytes, little-endian two's complement
        const b = take(u8());
        let v = 0n;
        for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
        if (b.length && b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: need(8); stack.push(dv.getFloat64(pos, false)); pos += 8; break; // BINFLOAT
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x8c: stack.push(text(take(u8()))); break; // SHORT_BINUNICODE
      // Python 2 str (legacy checkpoints saved from Python 2): bytes, read as latin-1 text.
      case 0x54: stack.push(latin1.decode(take(u32()))); break; // BINSTRING
      case 0x55: stack.push(latin1.decode(take(u8()))); break; // SHORT_BINSTRING
      case 0x63: { // GLOBAL
        const module = line(), name = line();
        if (!hooks.globals.has(`${module} ${name}`)) {
          throw new UnsafePickleError(`${what}: refusing pickle global "${module}.${name}" (pickle byte ${opAt}): ` +
            `a state dict holds only tensors, and this unpickler allows only ${[...hooks.globals].map((g) => g.replace(' ', '.')).join(', ')}. ` +
            'Nothing was executed. The file may be malicious, or hold more than a state dict: load it in a trusted Python and save the state dict as safetensors');
        }
        stack.push({ kind: 'global', module, name });
        break;
      }
      case 0x51: stack.push(hooks.persistentLoad(pop())); break; // BINPERSID
      case 0x52: { // REDUCE
        const args = pop(), callable = pop();
        if (callable === null || typeof callable !== 'object' || callable.kind !== 'global') fail(`REDUCE calls ${describeValue(callable)}, not an allowed global`);
        if (args === null || typeof args !== 'object' || args.kind !== 'tuple') fail(`REDUCE with ${describeValue(args)} instead of an argument tuple`);
        stack.push(hooks.reduce(callable as { module: string; name: string }, (args as { items: PickleValue[] }).items));
        break;
      }
      case 0x62: { const state = pop(), obj = pop(); stack.push(hooks.build(obj, state)); break; } // BUILD
      default: {
        const name = OPCODE_NAMES[op];
        throw new UnsafePickleError(`${what}: refusing pickle opcode ${name ?? 'unknown'} (0x${op.toString(16).padStart(2, '0')}) at pickle byte ${opAt}: ` +
          `${name ? 'torch.save does not write it for a state dict' : 'not a pickle opcode (corrupted file?)'}. Nothing was executed`);
      }
    }
  }
}
