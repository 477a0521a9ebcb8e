// A libuv poll on one file descriptor that calls a JS function once per wake-up (never per packet).
//
// While started it keeps the event loop alive (the director's links are what it waits for);
// Stop() and Close() remove it from the loop, so a closed port never holds the process open.
#pragma once
#include <napi.h>
#include <uv.h>

namespace uvs {

class FdPoller {
 public:
  FdPoller() = default;
  FdPoller(const FdPoller&) = delete;
  FdPoller& operator=(const FdPoller&) = delete;
  ~FdPoller();

  // Starts (or restarts with a new callback) watching fd for UV_READABLE.
  void Start(Napi::Env env, int fd, Napi::Function callback);
  // Stops watching; the handle stays allocated for a later Start.
  void Stop();
  // Stops and releases the libuv handle. Must run before the fd is closed (libuv's rule).
  void Close();
  bool active() const { return active_; }

 private:
  // The handle lives on the heap: libuv frees it only in the close callback, which may run after
  // this object is gone (a port garbage-collected while its handle closes).
  struct Handle {
    uv_poll_t poll;
    FdPoller* owner;
  };
  static void OnReadable(uv_poll_t* poll, int status, int events);

  Handle* handle_ = nullptr;
  napi_env env_ = nullptr;
  Napi::FunctionReference callback_;
  bool active_ = false;
};

}  // namespace uvs
