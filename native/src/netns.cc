#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <system_error>
#include <thread>

namespace uvs {

std::string NetnsPath(const std::string& netns) {
  if (!netns.empty() && netns[0] == '/') return netns;
  return "/var/run/netns/" + netns;
}

SysError RunInNetns(const std::string& netns, const std::function<SysError()>& fn) {
  if (netns.empty()) return fn();
  const std::string path = NetnsPath(netns);
  SysError result;
  // Runs on its own thread, which ends after fn: only that thread ever changes namespace.
  auto body = [&]() {
    int nsfd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      int err = errno;
      result = err == ENOENT ? SysError{err, "no network namespace '" + netns + "' (" + path + " is missing)"}
                             : FromErrno(err, "cannot open network namespace '" + netns + "' (" + path + ")");
      return;
    }
    if (setns(nsfd, CLONE_NEWNET) != 0) {
      int err = errno;
      close(nsfd);
      result = err == EPERM ? SysError{err, "entering network namespace '" + netns + "' needs CAP_SYS_ADMIN (run as root)"}
                            : FromErrno(err, "cannot enter network namespace '" + netns + "'");
      return;
    }
    close(nsfd);
    result = fn();
  };
  try {
    std::thread worker(body);
    worker.join();  // before `result` is read: the thread writes it
  } catch (const std::system_error& e) {
    // No thread could be started (resource limits): report it like a failed call, not as a C++
    // exception that JS could not catch.
    int err = e.code().value() != 0 ? e.code().value() : EAGAIN;
    return SysError{err, "cannot start a thread to enter network namespace '" + netns + "': " + e.what()};
  }
  return result;
}

}  // namespace uvs
