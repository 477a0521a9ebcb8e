#include "poller.h"

#include <string>

#include "errors.h"

namespace uvs {

FdPoller::~FdPoller() { Close(); }

void FdPoller::Start(Napi::Env env, int fd, Napi::Function callback) {
  callback_ = Napi::Persistent(callback);
  env_ = env;
  if (handle_ == nullptr) {
    uv_loop_t* loop = nullptr;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) {
      throw Napi::Error::New(env, "no libuv event loop to poll on");
    }
    handle_ = new Handle();
    handle_->owner = this;
    int rc = uv_poll_init(loop, &handle_->poll, fd);
    if (rc != 0) {
      delete handle_;  // never registered with the loop, so it can go at once
      handle_ = nullptr;
      ThrowSys(env, -rc, std::string("uv_poll_init on fd ") + std::to_string(fd) + ": " + uv_strerror(rc));
    }
    handle_->poll.data = handle_;
  }
  int rc = uv_poll_start(&handle_->poll, UV_READABLE, &FdPoller::OnReadable);
  if (rc != 0) ThrowSys(env, -rc, std::string("uv_poll_start: ") + uv_strerror(rc));
  active_ = true;
}

void FdPoller::Stop() {
  if (handle_ != nullptr && active_) uv_poll_stop(&handle_->poll);
  active_ = false;
}

void FdPoller::Close() {
  Stop();
  if (handle_ != nullptr) {
    handle_->owner = nullptr;  // a wake-up already queued must not reach a dead poller
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_->poll),
             [](uv_handle_t* h) { delete static_cast<Handle*>(h->data); });
    handle_ = nullptr;
  }
  callback_.Reset();
}

void FdPoller::OnReadable(uv_poll_t* poll, int status, int /*events*/) {
  Handle* h = static_cast<Handle*>(poll->data);
  FdPoller* self = h->owner;
  if (self == nullptr || !self->active_ || self->callback_.IsEmpty()) return;
  Napi::Env env(self->env_);
  Napi::HandleScope scope(env);
  if (status < 0) {
    // The fd itself failed (e.g. the device went away): stop, so the loop does not spin, and
    // report it as an uncaught error: there is no caller to return it to.
    self->Stop();
    Napi::Error e = Napi::Error::New(env, std::string("poll on a uvs port failed: ") + uv_strerror(status));
    e.Set("code", Napi::String::New(env, uv_err_name(status)));
    napi_fatal_exception(env, e.Value());
    return;
  }
  try {
    // MakeCallback: the right way to enter JS from libuv (runs microtasks and nextTicks after).
    self->callback_.MakeCallback(env.Global(), {});
  } catch (const Napi::Error& e) {
    // The JS callback threw: hand it to process 'uncaughtException', as Node does for its own I/O.
    napi_fatal_exception(env, e.Value());
  }
}

}  // namespace uvs
