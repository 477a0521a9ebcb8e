// Opening an AF_PACKET socket with a TPACKET_V3 receive ring: plain POSIX, no JS, so it can run
// on the thread that entered another network namespace (see netns.h).
#pragma once
#include <linux/filter.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "errors.h"

namespace uvs {

struct PacketConfig {
  std::string ifname;
  uint16_t protocol = 0x0003;       // ETH_P_ALL (host order): every frame, before the IP stack sees it
  uint32_t blockSize = 1 << 20;     // bytes per ring block (a page multiple)
  uint32_t blockCount = 8;
  uint32_t frameSize = 2048;        // only checked by the kernel; V3 packs frames of any size in a block
  uint32_t retireMs = 2;            // a block with frames goes to user space after this long at most
  bool ignoreOutgoing = false;      // PACKET_IGNORE_OUTGOING: do not see frames sent on this interface
  bool qdiscBypass = false;         // PACKET_QDISC_BYPASS: send straight to the driver
  int sndbuf = 4 << 20;             // SO_SNDBUF(FORCE): room for a whole flush in flight; 0 keeps the default
  std::vector<sock_filter> filter;  // SO_ATTACH_FILTER before bind, so no unwanted frame enters the ring
  bool fanout = false;
  uint16_t fanoutGroup = 0;
  uint16_t fanoutType = 0;          // PACKET_FANOUT_* mode | PACKET_FANOUT_FLAG_* bits
  std::vector<sock_filter> fanoutProgram;  // for PACKET_FANOUT_CBPF
};

struct PacketOpened {
  int fd = -1;
  int ifindex = 0;
  void* ring = nullptr;
  size_t ringSize = 0;
};

// Opens, sets up and binds the socket. On failure nothing is left open or mapped.
SysError OpenPacketSocket(const PacketConfig& config, PacketOpened* out);

// Attaches (or with an empty program, detaches) a classic BPF filter.
SysError AttachFilter(int fd, const std::vector<sock_filter>& program);

}  // namespace uvs
