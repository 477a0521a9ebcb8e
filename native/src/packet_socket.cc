#include "packet_socket.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "netns.h"

namespace uvs {

void RingMapping::Release() {
  if (--holders > 0) return;
  munmap(addr, size);  // fails only for a bad range, which we never pass; nothing to do then
  delete this;
}

std::vector<sock_filter> ReadBpfProgram(Napi::Env env, Napi::Value value, const char* what) {
  if (!value.IsTypedArray()) ThrowType(env, std::string(what) + " must be a Uint8Array or Uint32Array of sock_filter entries");
  Napi::TypedArray t = value.As<Napi::TypedArray>();
  if (t.TypedArrayType() != napi_uint8_array && t.TypedArrayType() != napi_uint32_array) {
    ThrowType(env, std::string(what) + " must be a Uint8Array or Uint32Array of sock_filter entries");
  }
  size_t bytes = t.ByteLength();
  if (bytes == 0 || bytes % sizeof(sock_filter) != 0 || bytes / sizeof(sock_filter) > BPF_MAXINSNS) {
    ThrowType(env, std::string(what) + " must hold 1 to 4096 instructions of 8 bytes (got " + std::to_string(bytes) + " bytes)");
  }
  std::vector<sock_filter> program(bytes / sizeof(sock_filter));
  const uint8_t* src = static_cast<const uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset();
  memcpy(program.data(), src, bytes);
  return program;
}

namespace {

uint32_t GetU32(Napi::Object o, const char* key, uint32_t fallback) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber()) ThrowType(o.Env(), std::string("option ") + key + " must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= 4294967295.0) || d != static_cast<double>(static_cast<uint32_t>(d))) {
    ThrowType(o.Env(), std::string("option ") + key + " must be a whole number >= 0");
  }
  return static_cast<uint32_t>(d);
}

bool GetBool(Napi::Object o, const char* key) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined()) return false;
  if (!v.IsBoolean()) ThrowType(o.Env(), std::string("option ") + key + " must be a boolean");
  return v.As<Napi::Boolean>().Value();
}

std::string GetString(Napi::Object o, const char* key, bool required) {
  Napi::Value v = o.Get(key);
  if (v.IsUndefined() && !required) return std::string();
  if (!v.IsString()) ThrowType(o.Env(), std::string("option ") + key + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace

Napi::Function PacketSocket::Define(Napi::Env env) {
  return DefineClass(env, "PacketSocket",
                     {
                         InstanceMethod<&PacketSocket::Ring>("ring"),
                         InstanceMethod<&PacketSocket::Fd>("fd"),
                         InstanceMethod<&PacketSocket::Ifindex>("ifindex"),
                         InstanceMethod<&PacketSocket::ReadyBlock>("readyBlock"),
                         InstanceMethod<&PacketSocket::ReleaseBlock>("releaseBlock"),
                         InstanceMethod<&PacketSocket::AddRegion>("addRegion"),
                         InstanceMethod<&PacketSocket::Send>("send"),
                         InstanceMethod<&PacketSocket::LastSendErrno>("lastSendErrno"),
                         InstanceMethod<&PacketSocket::ReadStats>("readStats"),
                         InstanceMethod<&PacketSocket::SetFilter>("setFilter"),
                         InstanceMethod<&PacketSocket::StartPoll>("startPoll"),
                         InstanceMethod<&PacketSocket::StopPoll>("stopPoll"),
                         InstanceMethod<&PacketSocket::Close>("close"),
                     });
}

// new PacketSocket({ ifname, netns?, protocol?, blockSize?, blockCount?, frameSize?, retireMs?,
//                    ignoreOutgoing?, qdiscBypass?, sndbuf?, filter?, fanout?: { group, type, program? } })
PacketSocket::PacketSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PacketSocket>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowType(env, "new PacketSocket(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  PacketConfig c;
  c.ifname = GetString(o, "ifname", true);
  std::string netns = GetString(o, "netns", false);
  c.protocol = static_cast<uint16_t>(GetU32(o, "protocol", c.protocol));
  c.blockSize = GetU32(o, "blockSize", c.blockSize);
  c.blockCount = GetU32(o, "blockCount", c.blockCount);
  c.frameSize = GetU32(o, "frameSize", c.frameSize);
  c.retireMs = GetU32(o, "retireMs", c.retireMs);
  c.ignoreOutgoing = GetBool(o, "ignoreOutgoing");
  c.qdiscBypass = GetBool(o, "qdiscBypass");
  c.sndbuf = static_cast<int>(GetU32(o, "sndbuf", static_cast<uint32_t>(c.sndbuf)) & 0x7fffffff);
  Napi::Value filter = o.Get("filter");
  if (!filter.IsUndefined() && !filter.IsNull()) c.filter = ReadBpfProgram(env, filter, "option filter");
  Napi::Value fanout = o.Get("fanout");
  if (!fanout.IsUndefined() && !fanout.IsNull()) {
    if (!fanout.IsObject()) ThrowType(env, "option fanout must be { group, type, program? }");
    Napi::Object f = fanout.As<Napi::Object>();
    c.fanout = true;
    c.fanoutGroup = static_cast<uint16_t>(GetU32(f, "group", 0));
    c.fanoutType = static_cast<uint16_t>(GetU32(f, "type", 0));
    Napi::Value prog = f.Get("program");
    if (!prog.IsUndefined() && !prog.IsNull()) c.fanoutProgram = ReadBpfProgram(env, prog, "fanout program");
  }

  // Everything that may throw comes before the socket exists: a throwing constructor runs no
  // destructor, so nothing opened may be left behind by a later throw (except as handled below).
  msgs_.resize(kSendBatch);
  iovs_.resize(kSendBatch);
  PacketOpened opened;
  SysError e = RunInNetns(netns, [&]() { return OpenPacketSocket(c, &opened); });
  if (e.failed()) {
    if (!netns.empty() && e.err == ENODEV) e.message += " in network namespace '" + netns + "'";
    ThrowSys(env, e);
  }
  fd_ = opened.fd;
  ifindex_ = opened.ifindex;
  ifname_ = c.ifname;
  blockSize_ = c.blockSize;
  blockCount_ = c.blockCount;
  ring_ = new RingMapping{opened.ring, opened.ringSize, 2};  // held by this socket and by the ArrayBuffer
  try {
    Napi::ArrayBuffer ab = Napi::ArrayBuffer::New(
        env, opened.ring, opened.ringSize, [](Napi::Env, void*, RingMapping* m) { m->Release(); }, ring_);
    ringBuffer_ = Napi::Persistent(ab);
  } catch (...) {
    ring_->holders = 1;  // no ArrayBuffer, so only we hold it; CloseNow releases it
    CloseNow();
    throw;
  }
}

PacketSocket::~PacketSocket() { CloseNow(); }

void PacketSocket::CloseNow() {
  poller_.Close();  // before close(fd): libuv must stop watching an fd before it is closed
  if (fd_ >= 0) {
    close(fd_);  // errors of close on a socket leave nothing to clean up
    fd_ = -1;
  }
  if (ring_ != nullptr) {
    ring_->Release();
    ring_ = nullptr;
  }
  regions_.Clear();
}

void PacketSocket::CheckOpen(Napi::Env env) const {
  if (fd_ < 0) ThrowSys(env, EBADF, "packet socket on '" + ifname_ + "' is closed");
}

Napi::Value PacketSocket::Ring(const Napi::CallbackInfo& info) {
  CheckOpen(info.Env());
  return ringBuffer_.Value();
}

Napi::Value PacketSocket::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

Napi::Value PacketSocket::Ifindex(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), ifindex_); }

// readyBlock(ahead = 0): the index of block head+ahead when the kernel has handed it to user space,
// else -1. The acquire load orders our later reads of the block after the kernel's writes.
Napi::Value PacketSocket::ReadyBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  uint32_t ahead = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Uint32Value() : 0;
  if (ahead >= blockCount_) return Napi::Number::New(env, -1);
  uint32_t index = (head_ + ahead) % blockCount_;
  auto* desc = reinterpret_cast<tpacket_block_desc*>(static_cast<uint8_t*>(ring_->addr) + size_t(index) * blockSize_);
  uint32_t status = __atomic_load_n(&desc->hdr.bh1.block_status, __ATOMIC_ACQUIRE);
  return Napi::Number::New(env, (status & TP_STATUS_USER) ? static_cast<int32_t>(index) : -1);
}

// releaseBlock(index): gives the head block back to the kernel and advances. The release store
// makes every write JS did into the block (frames rewritten in place) happen before the kernel
// may refill it; blocks must go back in the order they were handed out (the kernel fills in order).
Napi::Value PacketSocket::ReleaseBlock(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowType(env, "releaseBlock(index) needs a block index");
  int64_t index = info[0].As<Napi::Number>().Int64Value();
  if (index != static_cast<int64_t>(head_)) {
    ThrowType(env, "releaseBlock(" + std::to_string(index) + "): blocks go back in order; the next is " + std::to_string(head_));
  }
  auto* desc = reinterpret_cast<tpacket_block_desc*>(static_cast<uint8_t*>(ring_->addr) + size_t(head_) * blockSize_);
  __atomic_store_n(&desc->hdr.bh1.block_status, static_cast<uint32_t>(TP_STATUS_KERNEL), __ATOMIC_RELEASE);
  head_ = (head_ + 1) % blockCount_;
  return env.Undefined();
}

Napi::Value PacketSocket::AddRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1) ThrowType(env, "addRegion(memory) needs a Uint8Array");
  return Napi::Number::New(env, regions_.Add(env, info[0]));
}

// send(region, off, len, start, count): frames [start, start + count) in one sendmmsg per 1024.
// Returns how many the kernel took. Descriptors outside their region are skipped (counted by the
// caller as dropped, as are frames refused with ENOBUFS or left when the socket buffer is full).
Napi::Value PacketSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  TxDescriptors d = ReadTxDescriptors(info);
  uint32_t sent = 0;
  uint32_t i = d.start;
  const uint32_t end = d.start + d.count;
  bool socketFull = false;
  while (i < end && !socketFull) {
    unsigned n = 0;
    for (; i < end && n < kSendBatch; i++) {
      uint8_t* p = regions_.Resolve(d.region[i], d.off[i], d.len[i]);
      if (p == nullptr) continue;
      iovs_[n].iov_base = p;
      iovs_[n].iov_len = static_cast<size_t>(d.len[i]);
      msghdr& h = msgs_[n].msg_hdr;
      memset(&h, 0, sizeof h);  // no address: the socket's bound interface and protocol are used
      h.msg_iov = &iovs_[n];
      h.msg_iovlen = 1;
      n++;
    }
    unsigned done = 0;
    while (done < n) {
      int r = sendmmsg(fd_, &msgs_[done], n - done, MSG_DONTWAIT);
      if (r > 0) {
        done += static_cast<unsigned>(r);
        sent += static_cast<uint32_t>(r);
        continue;
      }
      int err = r < 0 ? errno : EIO;
      if (err == EINTR) continue;
      lastSendErrno_ = err;
      if (err == EAGAIN || err == EWOULDBLOCK) {
        // The socket's send buffer is full: trying the rest now would fail the same way, so the
        // rest of this flush is dropped (the director counts it) rather than spinning.
        socketFull = true;
        break;
      }
      done++;  // this one frame was refused (ENOBUFS: the device dropped it; EMSGSIZE ...): skip it
    }
  }
  return Napi::Number::New(env, sent);
}

Napi::Value PacketSocket::LastSendErrno(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lastSendErrno_);
}

void PacketSocket::AccumulateStats() {
  // PACKET_STATISTICS resets the kernel's counters on every read, so we keep running totals.
  tpacket_stats_v3 st = {};
  socklen_t len = sizeof st;
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &st, &len) != 0) return;
  statPackets_ += st.tp_packets;
  statDrops_ += st.tp_drops;
  statFreezes_ += st.tp_freeze_q_cnt;
}

// readStats(out: Float64Array): out[0] packets (the kernel counts drops in too), out[1] drops
// (ring full), out[2] freeze-queue count, all since open.
Napi::Value PacketSocket::ReadStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array ||
      info[0].As<Napi::Float64Array>().ElementLength() < 3) {
    ThrowType(env, "readStats(out) needs a Float64Array of 3");
  }
  if (fd_ >= 0) AccumulateStats();
  double* out = info[0].As<Napi::Float64Array>().Data();
  out[0] = statPackets_;
  out[1] = statDrops_;
  out[2] = statFreezes_;
  return env.Undefined();
}

// setFilter(program | null): replaces the classic BPF filter atomically (the kernel swaps it).
Napi::Value PacketSocket::SetFilter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  std::vector<sock_filter> program;
  if (info.Length() > 0 && !info[0].IsNull() && !info[0].IsUndefined()) program = ReadBpfProgram(env, info[0], "filter");
  SysError e = AttachFilter(fd_, program);
  if (e.failed()) ThrowSys(env, e);
  return env.Undefined();
}

Napi::Value PacketSocket::StartPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(env, "startPoll(callback) needs a function");
  poller_.Start(env, fd_, info[0].As<Napi::Function>());
  if (!pollRef_) {
    Ref();  // a started port must not be collected while the loop may still call into it
    pollRef_ = true;
  }
  return env.Undefined();
}

Napi::Value PacketSocket::StopPoll(const Napi::CallbackInfo& info) {
  poller_.Stop();
  if (pollRef_) {
    Unref();
    pollRef_ = false;
  }
  return info.Env().Undefined();
}

Napi::Value PacketSocket::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) return env.Undefined();  // closing twice is fine
  StopPoll(info);
  if (!ringBuffer_.IsEmpty()) {
    Napi::ArrayBuffer ab = ringBuffer_.Value();
    // Every view over the ring becomes empty: JS can no longer reach memory about to be unmapped.
    if (!ab.IsDetached()) ab.Detach();
    ringBuffer_.Reset();
  }
  CloseNow();
  return env.Undefined();
}

}  // namespace uvs
