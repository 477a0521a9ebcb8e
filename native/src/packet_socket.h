// PacketSocket: the JS object of one AF_PACKET socket with its TPACKET_V3 ring.
//
// The ring is handed to JS as ONE external ArrayBuffer over the mapping (no copy). JS walks the
// ready blocks itself (see src/io/packet-port.ts) and gives each back with releaseBlock().
// close() detaches that ArrayBuffer (every view over it becomes empty, so JS cannot read freed
// memory) and drops the socket's hold on the mapping; the pages are unmapped once the
// ArrayBuffer's finalizer has run too.
#pragma once
#include <napi.h>
#include <sys/socket.h>

#include <string>
#include <vector>

#include "packet_open.h"
#include "poller.h"
#include "tx_regions.h"

namespace uvs {

// The mapping, shared by the socket and the ArrayBuffer's finalizer: whichever lets go last unmaps.
struct RingMapping {
  void* addr;
  size_t size;
  int holders;
  void Release();
};

class PacketSocket : public Napi::ObjectWrap<PacketSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit PacketSocket(const Napi::CallbackInfo& info);
  ~PacketSocket() override;

 private:
  static constexpr unsigned kSendBatch = 1024;  // UIO_MAXIOV: the most one sendmmsg takes

  Napi::Value Ring(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);
  Napi::Value Ifindex(const Napi::CallbackInfo& info);
  Napi::Value ReadyBlock(const Napi::CallbackInfo& info);
  Napi::Value ReleaseBlock(const Napi::CallbackInfo& info);
  Napi::Value AddRegion(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value LastSendErrno(const Napi::CallbackInfo& info);
  Napi::Value ReadStats(const Napi::CallbackInfo& info);
  Napi::Value SetFilter(const Napi::CallbackInfo& info);
  Napi::Value StartPoll(const Napi::CallbackInfo& info);
  Napi::Value StopPoll(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  void CheckOpen(Napi::Env env) const;
  void CloseNow();
  void AccumulateStats();

  int fd_ = -1;
  int ifindex_ = 0;
  std::string ifname_;
  RingMapping* ring_ = nullptr;
  uint32_t blockSize_ = 0;
  uint32_t blockCount_ = 0;
  uint32_t head_ = 0;  // the next block to hand out and to get back (blocks go back in order)
  Napi::Reference<Napi::ArrayBuffer> ringBuffer_;
  TxRegions regions_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
  int lastSendErrno_ = 0;
  double statPackets_ = 0, statDrops_ = 0, statFreezes_ = 0;
  FdPoller poller_;
  bool pollRef_ = false;  // the JS object is held strongly while its poll is active
};

// Reads a classic BPF program given as a Uint8Array (8 bytes per sock_filter, host order) or a
// Uint32Array (2 words per instruction).
std::vector<sock_filter> ReadBpfProgram(Napi::Env env, Napi::Value value, const char* what);

}  // namespace uvs
