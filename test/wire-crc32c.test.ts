/**
 * CRC32c and the SCTP checksum. Known values: the CRC catalogue check value for "123456789"
 * (0xE3069283) and the RFC 3720 B.4 iSCSI vectors; an SCTP INIT built by scapy 2.5.0
 * (Ether/IP(src='10.1.0.1', dst='10.1.0.2')/SCTP(sport=2905, dport=2905, tag=0)/
 * SCTPChunkInit(init_tag=0x11223344, a_rwnd=65535, n_out_streams=10, n_in_streams=10, init_tsn=1)),
 * whose checksum field holds the bytes 1a e9 f7 c1.
 */
import assert from 'node:assert/strict';
import { crc32c, sctpChecksum, sctpChecksumOk, setSctpChecksum } from '../src/wire/crc32c';

const SCTP_INIT_V4 = new Uint8Array(
  Buffer.from(
    '02000000000202000000000108004500003400010000408466410a0100010a0100020b590b59000000001ae9f7c101000014112233440000ffff000a000a00000001',
    'hex',
  ),
);
const L4 = 34;
const L4_LEN = 32;

describe('wire crc32c', () => {
  it('check value of "123456789" is 0xE3069283', () => {
    assert.equal(crc32c(new Uint8Array(Buffer.from('123456789', 'ascii')), 0, 9), 0xe3069283);
  });

  it('RFC 3720 B.4 vectors: 32 zeros, 32 x 0xff, 0..31', () => {
    assert.equal(crc32c(new Uint8Array(32), 0, 32), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff), 0, 32), 0x62a8ab43);
    const inc = new Uint8Array(32);
    for (let i = 0; i < 32; i++) inc[i] = i;
    assert.equal(crc32c(inc, 0, 32), 0x46dd794e);
  });

  it('works on a sub-range and of zero length', () => {
    const b = new Uint8Array(Buffer.from('xx123456789yy', 'ascii'));
    assert.equal(crc32c(b, 2, 9), 0xe3069283);
    assert.equal(crc32c(b, 5, 0), 0);
  });

  it('scapy SCTP INIT: checksum verifies, is stored little-endian, and is rebuilt exactly', () => {
    assert.ok(sctpChecksumOk(SCTP_INIT_V4, L4, L4_LEN));
    assert.equal(sctpChecksum(SCTP_INIT_V4, L4, L4_LEN), 0xc1f7e91a);
    const b = SCTP_INIT_V4.slice();
    b.fill(0, L4 + 8, L4 + 12);
    assert.ok(!sctpChecksumOk(b, L4, L4_LEN));
    setSctpChecksum(b, L4, L4_LEN);
    assert.deepEqual(b, SCTP_INIT_V4);
  });

  it('detects a changed port, and setSctpChecksum repairs it', () => {
    const b = SCTP_INIT_V4.slice();
    b[L4 + 3] = 0x5a;
    assert.ok(!sctpChecksumOk(b, L4, L4_LEN));
    setSctpChecksum(b, L4, L4_LEN);
    assert.ok(sctpChecksumOk(b, L4, L4_LEN));
    // sctpChecksum ignores the field's current contents
    assert.equal(sctpChecksum(b, L4, L4_LEN), sctpChecksum(b.fill(0xab, L4 + 8, L4 + 12), L4, L4_LEN));
  });
});
