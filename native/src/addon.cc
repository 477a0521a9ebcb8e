// uvs_native: TUN/TAP devices and AF_PACKET TPACKET_V3 sockets for the live director.
// See native/README.md for the JS interface and src/io/native-addon.ts for its types.
#include <linux/if_packet.h>
#include <napi.h>
#include <stddef.h>

#include "packet_socket.h"
#include "tun_device.h"

namespace {

// The ring's C layout, so the JS walker (src/io/tpacket-layout.ts) can be checked against the
// headers this addon was compiled with.
Napi::Object Layout(Napi::Env env) {
  Napi::Object o = Napi::Object::New(env);
  auto put = [&](const char* k, size_t v) { o.Set(k, Napi::Number::New(env, static_cast<double>(v))); };
  put("blockStatus", offsetof(tpacket_block_desc, hdr.bh1.block_status));
  put("numPkts", offsetof(tpacket_block_desc, hdr.bh1.num_pkts));
  put("offsetToFirstPkt", offsetof(tpacket_block_desc, hdr.bh1.offset_to_first_pkt));
  put("blkLen", offsetof(tpacket_block_desc, hdr.bh1.blk_len));
  put("tpNextOffset", offsetof(tpacket3_hdr, tp_next_offset));
  put("tpSec", offsetof(tpacket3_hdr, tp_sec));
  put("tpNsec", offsetof(tpacket3_hdr, tp_nsec));
  put("tpSnaplen", offsetof(tpacket3_hdr, tp_snaplen));
  put("tpLen", offsetof(tpacket3_hdr, tp_len));
  put("tpStatus", offsetof(tpacket3_hdr, tp_status));
  put("tpMac", offsetof(tpacket3_hdr, tp_mac));
  put("tpNet", offsetof(tpacket3_hdr, tp_net));
  put("tpVlanTci", offsetof(tpacket3_hdr, hv1.tp_vlan_tci));
  put("tpacket3HdrLen", TPACKET3_HDRLEN);
  put("statusUser", TP_STATUS_USER);
  put("statusCsumNotReady", TP_STATUS_CSUMNOTREADY);
  put("statusVlanValid", TP_STATUS_VLAN_VALID);
  put("statusCsumValid", TP_STATUS_CSUM_VALID);
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("PacketSocket", uvs::PacketSocket::Define(env));
  exports.Set("TunDevice", uvs::TunDevice::Define(env));
  exports.Set("layout", Layout(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(uvs_native, Init)
