/**
 * A classic BPF interpreter for tests: runs an assembled program (bpf.ts encoding, host byte
 * order) over a packet, as the kernel does, including its rule that a load outside the packet
 * ends the program with 0. Covers the instructions bpf.ts can emit.
 */
import { endianness } from 'node:os';

export function runClassicBpf(program: Uint8Array, packet: Uint8Array): number {
  const view = new DataView(program.buffer, program.byteOffset, program.byteLength);
  const le = endianness() === 'LE';
  const n = program.length / 8;
  let a = 0;
  let x = 0;
  const load = (size: number, at: number): number | null => {
    const bytes = size === 0x00 ? 4 : size === 0x08 ? 2 : 1;
    if (at < 0 || at + bytes > packet.length) return null;
    let v = 0;
    for (let i = 0; i < bytes; i++) v = (v * 256) + packet[at + i];
    return v >>> 0;
  };
  for (let pc = 0, steps = 0; pc < n; pc++, steps++) {
    if (steps > n) throw new Error('a classic BPF program cannot loop');
    const code = view.getUint16(pc * 8, le);
    const jt = view.getUint8(pc * 8 + 2);
    const jf = view.getUint8(pc * 8 + 3);
    const k = view.getUint32(pc * 8 + 4, le);
    const cls = code & 0x07;
    switch (cls) {
      case 0x00: // LD
      case 0x01: { // LDX
        const mode = code & 0xe0;
        const size = code & 0x18;
        let v: number | null;
        if (mode === 0x00) v = k; // IMM
        else if (mode === 0x20) v = load(size, k); // ABS
        else if (mode === 0x40) v = load(size, x + k); // IND
        else if (mode === 0xa0) { // MSH
          const b = load(0x10, k);
          v = b === null ? null : 4 * (b & 0x0f);
        } else throw new Error(`load mode 0x${mode.toString(16)} not interpreted`);
        if (v === null) return 0;
        if (cls === 0x00) a = v;
        else x = v;
        break;
      }
      case 0x04: { // ALU
        const op = code & 0xf0;
        const src = (code & 0x08) !== 0 ? x : k;
        switch (op) {
          case 0x00: a = (a + src) >>> 0; break;
          case 0x10: a = (a - src) >>> 0; break;
          case 0x20: a = Math.imul(a, src) >>> 0; break;
          case 0x30: if (src === 0) return 0; a = Math.floor(a / src) >>> 0; break;
          case 0x40: a = (a | src) >>> 0; break;
          case 0x50: a = (a & src) >>> 0; break;
          case 0x60: a = (a << (src & 31)) >>> 0; break;
          case 0x70: a = a >>> (src & 31); break;
          case 0x80: a = -a >>> 0; break;
          case 0x90: if (src === 0) return 0; a = (a % src) >>> 0; break;
          case 0xa0: a = (a ^ src) >>> 0; break;
          default: throw new Error(`alu op 0x${op.toString(16)} not interpreted`);
        }
        break;
      }
      case 0x05: { // JMP
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const src = (code & 0x08) !== 0 ? x : k;
        let taken: boolean;
        if (op === 0x10) taken = a === src;
        else if (op === 0x20) taken = a > src;
        else if (op === 0x30) taken = a >= src;
        else if (op === 0x40) taken = (a & src) !== 0;
        else throw new Error(`jump op 0x${op.toString(16)} not interpreted`);
        pc += taken ? jt : jf;
        break;
      }
      case 0x06: // RET
        return (code & 0x18) === 0x10 ? a : k;
      case 0x07: // MISC
        if ((code & 0xf8) === 0x00) x = a;
        else a = x;
        break;
      default:
        throw new Error(`instruction class ${cls} not interpreted`);
    }
  }
  throw new Error('the program ran off its end');
}
