// Opening a TUN or TAP device (plain POSIX, no JS: may run on a namespace thread, see netns.h).
#pragma once
#include <string>

#include "errors.h"

namespace uvs {

struct TunConfig {
  std::string name;         // the device name ("uvs%d" lets the kernel pick the number)
  bool tap = false;         // IFF_TAP (Ethernet frames) instead of IFF_TUN (IP packets)
  bool multiQueue = false;  // IFF_MULTI_QUEUE: each open of the same name adds a queue
  bool up = false;          // set IFF_UP after creating it
  unsigned mtu = 0;         // SIOCSIFMTU when > 0
};

struct TunOpened {
  int fd = -1;
  std::string name;  // as the kernel named it
};

// Opens /dev/net/tun and attaches to (or creates) the device. On failure nothing stays open.
SysError OpenTun(const TunConfig& config, TunOpened* out);

}  // namespace uvs
