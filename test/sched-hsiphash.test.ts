/**
 * hash_32 and hsiphash against published values: the worked examples of ipvs-schedulers.md 1.7
 * and ipvs-facts.md 2.9/2.11, the official SipHash-2-4 vectors (reference implementation,
 * key 00..0f, message 00..n-1) and the kernel's own hsiphash self-test vectors for 64-bit
 * kernels (lib/test_siphash.c, same key and messages).
 */
import assert from 'node:assert/strict';
import { hash32 } from '../src/sched/hash32';
import { MH_KEY1, MH_KEY2, maglevOffset, maglevSkip } from '../src/sched/mh';
import { hsiphash, hsiphashU32, hsiphashU32Bits, hsiphashU32Mod, sipHash, sipKeyFromBytes } from '../src/sched/hsiphash';

/** SipHash-2-4 outputs for n = 0..63, as the reference prints them (little-endian bytes). */
const SIPHASH24 = [
  '310e0edd47db6f72', 'fd67dc93c539f874', '5a4fa9d909806c0d', '2d7efbd796666785', 'b7877127e09427cf',
  '8da699cd64557618', 'cee3fe586e46c9cb', '37d1018bf50002ab', '6224939a79f5f593', 'b0e4a90bdf82009e',
  'f3b9dd94c5bb5d7a', 'a7ad6b22462fb3f4', 'fbe50e86bc8f1e75', '903d84c02756ea14', 'eef27a8e90ca23f7',
  'e545be4961ca29a1', 'db9bc2577fcc2a3f', '9447be2cf5e99a69', '9cd38d96f0b3c14b', 'bd6179a71dc96dbb',
  '98eea21af25cd6be', 'c7673b2eb0cbf2d0', '883ea3e395675393', 'c8ce5ccd8c030ca8', '94af49f6c650adb8',
  'eab8858ade92e1bc', 'f315bb5bb835d817', 'adcf6b0763612e2f', 'a5c91da7acaa4dde', '716595876650a2a6',
  '28ef495c53a387ad', '42c341d8fa92d832', 'ce7cf2722f512771', 'e37859f94623f3a7', '381205bb1ab0e012',
  'ae97a10fd434e015', 'b4a31508beff4d31', '81396229f0907902', '4d0cf49ee5d4dcca', '5c73336a76d8bf9a',
  'd0a704536ba93e0e', '925958fcd6420cad', 'a915c29bc8067318', '952b79f3bc0aa6d4', 'f21df2e41d4535f9',
  '87577519048f53a9', '10a56cf5dfcd9adb', 'eb75095ccd986cd0', '51a9cb9ecba312e6', '96afadfc2ce666c7',
  '72fe52975a4364ee', '5a1645b276d592a1', 'b274cb8ebf87870a', '6f9bb4203de7b381', 'eaecb2a30b22a87f',
  '9924a43cc1315724', 'bd838d3aafbf8db7', '0b1a2a3265d51aea', '135079a3231ce660', '932b2846e4d70666',
  'e1915f5cb1eca46c', 'f325965ca16d629f', '575ff28e60381be5', '724506eb4c328a95',
];

/** The kernel's test_vectors_hsiphash for BITS_PER_LONG == 64 (SipHash-1-3, low 32 bits). */
const HSIPHASH64 = [
  0x050fc4dc, 0x7d57ca93, 0x4dc7d44d, 0xe7ddf7fb, 0x88d38328, 0x49533b67, 0xc59f22a7, 0x9bb11140,
  0x8d299a8e, 0x6c063de4, 0x92ff097f, 0xf94dc352, 0x57b4d9a2, 0x1229ffa7, 0xc0f95d34, 0x2a519956,
  0x7d908b66, 0x63dbd80c, 0xb473e63e, 0x8d297d1c, 0xa6cce040, 0x2b45f844, 0xa320872e, 0xdae6c123,
  0x67349c8c, 0x705b0979, 0xca9913a5, 0x4ade3b35, 0xef6cd00d, 0x4ab1e1f4, 0x43c5e663, 0x8c21d1bc,
  0x16a7b60d, 0x7a8ff9bf, 0x1f2a753e, 0xbf186b91, 0xada26206, 0xa3c33057, 0xae3a36a1, 0x7b108392,
  0x99e41531, 0x3f1ad944, 0xc8138825, 0xc28949a6, 0xfaf8876b, 0x9f042196, 0x68b1d623, 0x8b5114fd,
  0xdf074c46, 0x12cc86b3, 0x0a52098f, 0x9d292f9a, 0xa2f41f12, 0x43a71ed0, 0x73f0bce6, 0x70a7e980,
  0x243c6d75, 0xfdb71513, 0xa67d8a08, 0xb7e8f148, 0xf7a644ee, 0x0f1837f2, 0x4b6694e0, 0xb7bbb3a8,
];

const TEST_KEY = sipKeyFromBytes(Uint8Array.from({ length: 16 }, (_, i) => i));
const message = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);
const hex8 = (lo: number, hi: number): string =>
  Buffer.from(Uint32Array.of(lo, hi).buffer).toString('hex'); // little-endian host: low word first

describe('hash_32', () => {
  it('keeps the top bits of v * 0x61C88647 (ipvs-schedulers.md 1.7 examples)', () => {
    assert.equal(hash32(1, 8), 97); // 0x61C88647 -> 0x61
    assert.equal(hash32(2, 8), 195); // 0xC3910C8E -> 0xC3
    assert.equal(hash32(0x0a000001, 8), 39); // product 0x27C88647 mod 2^32 -> 0x27
    assert.equal(hash32(6, 4), 4); // 0x4AB325AA -> 0x4
    assert.equal(hash32(1, 32), 0x61c88647); // all 32 bits
  });

  it('takes its input modulo 2^32 (a key + port sum may carry past 32 bits)', () => {
    assert.equal(hash32(2 ** 32 + 1, 8), 97);
    assert.equal(hash32(0xffffffff + 2, 8), 97);
  });

  it("gives ipvs-facts 2.9's sh buckets: 10.1.2.3 -> 2, 192.0.2.10 -> 162, 203.0.113.7 -> 124", () => {
    assert.equal(hash32(0x0a010203, 8), 2);
    assert.equal(hash32(0xc000020a, 8), 162);
    assert.equal(hash32(0xcb007107, 8), 124);
    // with sh-port and source port 40000
    assert.equal(hash32(0x0a010203 + 40000, 8), 166);
    assert.equal(hash32(0xc000020a + 40000, 8), 70);
    assert.equal(hash32(0xcb007107 + 40000, 8), 32);
  });
});

describe('SipHash with 64-bit words', () => {
  it('matches all 64 official SipHash-2-4 vectors', () => {
    const out = new Uint32Array(2);
    for (let n = 0; n < 64; n++) {
      sipHash(TEST_KEY, message(n), 2, 4, out);
      assert.equal(hex8(out[0], out[1]), SIPHASH24[n], `n = ${n}`);
    }
  });

  it("hsiphash matches all 64 of the kernel's 64-bit self-test values (0x050fc4dc, ..., 0xb7bbb3a8)", () => {
    for (let n = 0; n < 64; n++) assert.equal(hsiphash(TEST_KEY, message(n)), HSIPHASH64[n], `n = ${n}`);
    assert.equal(hsiphash(TEST_KEY, message(4)), 0x88d38328); // the three values quoted in 1.7
  });

  it('hsiphashU32 hashes the little-endian image of a 32-bit number', () => {
    for (const v of [0, 1, 0x0a000051, 0x80000000, 0xffffffff, 0x03020100]) {
      const image = Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24);
      assert.equal(hsiphashU32(MH_KEY1, v), hsiphash(MH_KEY1, image), `v = ${v}`);
      assert.equal(hsiphashU32(TEST_KEY, v), hsiphash(TEST_KEY, image), `v = ${v}`);
    }
    assert.equal(hsiphashU32(TEST_KEY, 0x03020100), HSIPHASH64[4]); // bytes 00 01 02 03
  });

  it('the unrolled 4-byte path equals the general hsiphash on 100,000 random values, for both mh keys', () => {
    // xorshift32, fixed seed: the same values every run
    let x = 0x2545f491;
    const next = (): number => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return x >>> 0;
    };
    const image = new Uint8Array(4);
    const view = new DataView(image.buffer);
    const values = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff];
    for (let i = 0; i < 100_000; i++) values.push(next());
    for (const [name, key] of [['MH_KEY1', MH_KEY1], ['MH_KEY2', MH_KEY2]] as const) {
      for (const v of values) {
        view.setUint32(0, v, true);
        const general = hsiphash(key, image);
        if (hsiphashU32(key, v) !== general) assert.fail(`${name}: hsiphashU32(0x${v.toString(16)}) != hsiphash`);
        if (hsiphashU32Bits(key, v | 0) !== (general | 0)) assert.fail(`${name}: hsiphashU32Bits(0x${v.toString(16)})`);
        if (hsiphashU32Mod(key, v, 4093) !== general % 4093) assert.fail(`${name}: hsiphashU32Mod(0x${v.toString(16)}, 4093)`);
        if (hsiphashU32Mod(key, v | 0, 4092) !== general % 4092) assert.fail(`${name}: hsiphashU32Mod(0x${v.toString(16)} | 0, 4092)`);
      }
    }
  });

  it('hsiphashU32Mod takes moduli up to 2^31 - 1 and signed or unsigned v alike', () => {
    const image = Uint8Array.of(0xef, 0xbe, 0xad, 0xde); // v = 0xdeadbeef
    const general = hsiphash(MH_KEY1, image);
    for (const m of [1, 2, 251, 131071, 0x7fffffff]) {
      assert.equal(hsiphashU32Mod(MH_KEY1, 0xdeadbeef, m), general % m, `m = ${m}`);
      assert.equal(hsiphashU32Mod(MH_KEY1, 0xdeadbeef | 0, m), general % m, `m = ${m}, v signed`);
    }
  });

  it('rejects a key that is not 16 bytes', () => {
    assert.throws(() => sipKeyFromBytes(new Uint8Array(8)), /a SipHash key has 16 bytes, not 8/);
  });
});

describe("mh's fixed keys", () => {
  it('10.0.0.1:80 -> v 0x0A000051, H1 0x439c0cbe (offset 3167), H2 0x97b3dc47 (skip 700)', () => {
    const v = 0x0a000001 + 80;
    assert.equal(hsiphashU32(MH_KEY1, v), 0x439c0cbe);
    assert.equal(hsiphashU32(MH_KEY2, v), 0x97b3dc47);
    assert.equal(maglevOffset(v, 4093), 3167);
    assert.equal(maglevSkip(v, 4093), 700);
  });

  it('ipvs-facts 2.11: 10.0.0.11/12/13:80 -> offsets 4032, 870, 2586; skips 1541, 874, 2286', () => {
    const cases: [number, number, number][] = [[0x0a00000b, 4032, 1541], [0x0a00000c, 870, 874], [0x0a00000d, 2586, 2286]];
    for (const [addr, offset, skip] of cases) {
      assert.equal(maglevOffset(addr + 80, 4093), offset);
      assert.equal(maglevSkip(addr + 80, 4093), skip);
    }
  });
});
