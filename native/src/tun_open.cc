#include "tun_open.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

namespace uvs {

namespace {

// Sets the MTU and/or IFF_UP through an ioctl socket of the current namespace.
SysError Configure(const std::string& name, unsigned mtu, bool up) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return FromErrno(errno, "socket for configuring '" + name + "'");
  ifreq ifr = {};
  strncpy(ifr.ifr_name, name.c_str(), IFNAMSIZ - 1);
  SysError result;
  if (mtu > 0) {
    ifr.ifr_mtu = static_cast<int>(mtu);
    if (ioctl(s, SIOCSIFMTU, &ifr) != 0) result = FromErrno(errno, "setting MTU " + std::to_string(mtu) + " on '" + name + "'");
  }
  if (!result.failed() && up) {
    if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
      result = FromErrno(errno, "reading the flags of '" + name + "'");
    } else {
      ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
      if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0) result = FromErrno(errno, "setting '" + name + "' up");
    }
  }
  close(s);
  return result;
}

}  // namespace

SysError OpenTun(const TunConfig& c, TunOpened* out) {
  *out = TunOpened();
  const char* kind = c.tap ? "TAP" : "TUN";
  if (c.name.empty() || c.name.size() >= IFNAMSIZ) {
    return SysError{EINVAL, std::string(kind) + " device name '" + c.name + "' is not 1 to 15 characters"};
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT || err == ENODEV) return SysError{err, "no /dev/net/tun: the kernel has no TUN/TAP support loaded"};
    if (err == EACCES || err == EPERM) return SysError{err, std::string("creating ") + kind + " device '" + c.name + "' needs CAP_NET_ADMIN"};
    return FromErrno(err, "opening /dev/net/tun");
  }
  ifreq ifr = {};
  strncpy(ifr.ifr_name, c.name.c_str(), IFNAMSIZ - 1);
  ifr.ifr_flags = static_cast<short>((c.tap ? IFF_TAP : IFF_TUN) | IFF_NO_PI | (c.multiQueue ? IFF_MULTI_QUEUE : 0));
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int err = errno;
    close(fd);
    if (err == EPERM || err == EACCES) return SysError{err, std::string("creating ") + kind + " device '" + c.name + "' needs CAP_NET_ADMIN"};
    // EBUSY: a single-queue device of that name is open already. EINVAL while the name exists:
    // it is another kind of device (veth, a TAP for a TUN...) or its multi-queue flag differs.
    if (err == EBUSY || (err == EINVAL && if_nametoindex(c.name.c_str()) != 0)) {
      return SysError{EBUSY, std::string(kind) + " device name '" + c.name + "' is busy"};
    }
    return FromErrno(err, std::string("TUNSETIFF for ") + kind + " device '" + c.name + "'");
  }
  out->name = ifr.ifr_name;
  if (c.mtu > 0 || c.up) {
    SysError e = Configure(out->name, c.mtu, c.up);
    if (e.failed()) {
      close(fd);  // the device goes away with its last queue, unless it was persistent already
      return e;
    }
  }
  out->fd = fd;
  return SysError();
}

}  // namespace uvs
