#include "packet_open.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

namespace uvs {

namespace {

// Closes the fd and unmaps the ring unless Keep() was called: every early return cleans up.
class Cleanup {
 public:
  explicit Cleanup(PacketOpened* o) : o_(o) {}
  ~Cleanup() {
    if (keep_) return;
    if (o_->ring != nullptr) munmap(o_->ring, o_->ringSize);
    if (o_->fd >= 0) close(o_->fd);
    *o_ = PacketOpened();
  }
  void Keep() { keep_ = true; }

 private:
  PacketOpened* o_;
  bool keep_ = false;
};

SysError SetInt(int fd, int level, int name, int value, const std::string& what) {
  if (setsockopt(fd, level, name, &value, sizeof value) != 0) return FromErrno(errno, what);
  return SysError();
}

std::string RingDescription(const PacketConfig& c) {
  return "PACKET_RX_RING (TPACKET_V3, " + std::to_string(c.blockCount) + " blocks of " + std::to_string(c.blockSize) +
         " bytes, frame size " + std::to_string(c.frameSize) + ", retire " + std::to_string(c.retireMs) + " ms)";
}

}  // namespace

SysError AttachFilter(int fd, const std::vector<sock_filter>& program) {
  if (program.empty()) {
    int zero = 0;
    // ENOENT: no filter was attached, which is what we want anyway.
    if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof zero) != 0 && errno != ENOENT) {
      return FromErrno(errno, "SO_DETACH_FILTER");
    }
    return SysError();
  }
  sock_fprog prog;
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) != 0) {
    int err = errno;
    SysError e = FromErrno(err, "SO_ATTACH_FILTER (" + std::to_string(program.size()) + " instructions)");
    // The kernel charges the translated program to the socket's option memory: long programs
    // fail here long before BPF_MAXINSNS.
    if (err == ENOMEM) e.message += " (the program needs more than net.core.optmem_max allows: raise it or use fewer rules)";
    return e;
  }
  return SysError();
}

SysError OpenPacketSocket(const PacketConfig& c, PacketOpened* out) {
  *out = PacketOpened();
  Cleanup cleanup(out);

  // Protocol 0 at creation: the socket sees nothing until bind() names the interface and protocol,
  // so no frame of another interface slips into the ring while it is being set up.
  out->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (out->fd < 0) {
    int err = errno;
    if (err == EPERM || err == EACCES) return SysError{err, "opening an AF_PACKET socket needs CAP_NET_RAW (run as root)"};
    return FromErrno(err, "socket(AF_PACKET)");
  }

  if (c.ifname.empty() || c.ifname.size() >= IFNAMSIZ) {
    return SysError{EINVAL, "'" + c.ifname + "' is not a valid interface name (1 to 15 characters)"};
  }
  out->ifindex = static_cast<int>(if_nametoindex(c.ifname.c_str()));
  if (out->ifindex == 0) {
    int err = errno;
    if (err == ENODEV || err == ENXIO) return SysError{ENODEV, "no network interface named '" + c.ifname + "'"};
    return FromErrno(err, "looking up interface '" + c.ifname + "'");
  }

  SysError e = SetInt(out->fd, SOL_PACKET, PACKET_VERSION, TPACKET_V3, "PACKET_VERSION (TPACKET_V3)");
  if (e.failed()) return e;

  if (c.frameSize == 0 || c.blockSize == 0 || c.blockCount == 0 || c.blockSize % c.frameSize != 0) {
    return SysError{EINVAL, RingDescription(c) + ": the block size must be a multiple of the frame size"};
  }
  tpacket_req3 req = {};
  req.tp_block_size = c.blockSize;
  req.tp_block_nr = c.blockCount;
  req.tp_frame_size = c.frameSize;
  req.tp_frame_nr = (c.blockSize / c.frameSize) * c.blockCount;
  req.tp_retire_blk_tov = c.retireMs;
  if (setsockopt(out->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) != 0) {
    return FromErrno(errno, RingDescription(c));
  }
  size_t size = static_cast<size_t>(c.blockSize) * c.blockCount;
  void* ring = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, out->fd, 0);
  if (ring == MAP_FAILED) return FromErrno(errno, "mmap of the " + RingDescription(c));
  out->ring = ring;
  out->ringSize = size;

  if (!c.filter.empty()) {
    e = AttachFilter(out->fd, c.filter);
    if (e.failed()) return e;
  }
  if (c.ignoreOutgoing) {
    e = SetInt(out->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING");
    if (e.failed()) return e;
  }
  if (c.qdiscBypass) {
    e = SetInt(out->fd, SOL_PACKET, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS");
    if (e.failed()) return e;
  }
  if (c.sndbuf > 0) {
    // FORCE passes net.core.wmem_max (we run privileged anyway); fall back to the capped option.
    if (setsockopt(out->fd, SOL_SOCKET, SO_SNDBUFFORCE, &c.sndbuf, sizeof c.sndbuf) != 0) {
      e = SetInt(out->fd, SOL_SOCKET, SO_SNDBUF, c.sndbuf, "SO_SNDBUF");
      if (e.failed()) return e;
    }
  }

  sockaddr_ll addr = {};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(c.protocol);
  addr.sll_ifindex = out->ifindex;
  if (bind(out->fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return FromErrno(errno, "binding the packet socket to '" + c.ifname + "'");
  }

  // Fanout needs a bound, running socket: it joins the group of (id, interface, protocol).
  if (c.fanout) {
    int arg = static_cast<int>(c.fanoutGroup) | (static_cast<int>(c.fanoutType) << 16);
    char type[8];
    snprintf(type, sizeof type, "%x", c.fanoutType);
    e = SetInt(out->fd, SOL_PACKET, PACKET_FANOUT, arg,
               "PACKET_FANOUT (group " + std::to_string(c.fanoutGroup) + ", type 0x" + type + ") on '" + c.ifname + "'");
    if (e.failed()) return e;
    if ((c.fanoutType & 0xff) == PACKET_FANOUT_CBPF) {
      if (c.fanoutProgram.empty()) return SysError{EINVAL, "PACKET_FANOUT_CBPF needs a program"};
      sock_fprog prog;
      prog.len = static_cast<unsigned short>(c.fanoutProgram.size());
      prog.filter = const_cast<sock_filter*>(c.fanoutProgram.data());
      if (setsockopt(out->fd, SOL_PACKET, PACKET_FANOUT_DATA, &prog, sizeof prog) != 0) {
        return FromErrno(errno, "PACKET_FANOUT_DATA (the cbpf fanout program)");
      }
    }
  }

  cleanup.Keep();
  return SysError();
}

}  // namespace uvs
