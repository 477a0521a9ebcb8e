// TunDevice: the JS object of one queue of a TUN/TAP device (one fd). Reads fill a caller's
// buffer with as many packets as are waiting; writes take (region, offset, length) descriptors.
#pragma once
#include <napi.h>

#include <string>

#include "poller.h"
#include "tx_regions.h"

namespace uvs {

class TunDevice : public Napi::ObjectWrap<TunDevice> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit TunDevice(const Napi::CallbackInfo& info);
  ~TunDevice() override;

 private:
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value ReadBatch(const Napi::CallbackInfo& info);
  Napi::Value AddRegion(const Napi::CallbackInfo& info);
  Napi::Value Write(const Napi::CallbackInfo& info);
  Napi::Value LastWriteErrno(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env) const;
  void CloseNow();

  int fd_ = -1;
  std::string name_;
  TxRegions regions_;
  int lastWriteErrno_ = 0;
  FdPoller poller_;
  bool pollRef_ = false;
};

}  // namespace uvs
