// Running a piece of set-up inside another network namespace without moving the JS thread.
//
// A packet socket, a TUN device and an interface name belong to the network namespace of the
// thread that creates or looks them up; once made, they keep working from any namespace. So the
// addon creates them on a short-lived thread that enters the namespace with setns(2) and ends:
// the main thread (and with it every other socket Node opens) never changes namespace, and there
// is no "switch back" that could fail half-way.
#pragma once
#include <functional>
#include <string>

#include "errors.h"

namespace uvs {

// Where a namespace name points: "/var/run/netns/NAME" (iproute2's), or the name itself when it
// is a path (starts with '/', e.g. /proc/PID/ns/net).
std::string NetnsPath(const std::string& netns);

// Runs fn in the namespace netns (a name or a path; empty: the current one, on this thread).
// Returns fn's result, or the reason the namespace could not be entered. fn must not touch JS.
SysError RunInNetns(const std::string& netns, const std::function<SysError()>& fn);

}  // namespace uvs
