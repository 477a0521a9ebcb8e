#include "tun_device.h"

#include <errno.h>
#include <unistd.h>

#include "netns.h"
#include "tun_open.h"

namespace uvs {

Napi::Function TunDevice::Define(Napi::Env env) {
  return DefineClass(env, "TunDevice",
                     {
                         InstanceMethod<&TunDevice::Name>("name"),
                         InstanceMethod<&TunDevice::Fd>("fd"),
                         InstanceMethod<&TunDevice::ReadBatch>("readBatch"),
                         InstanceMethod<&TunDevice::AddRegion>("addRegion"),
                         InstanceMethod<&TunDevice::Write>("write"),
                         InstanceMethod<&TunDevice::LastWriteErrno>("lastWriteErrno"),
                         InstanceMethod<&TunDevice::StartPoll>("startPoll"),
                         InstanceMethod<&TunDevice::StopPoll>("stopPoll"),
                         InstanceMethod<&TunDevice::Close>("close"),
                     });
}

// new TunDevice({ name, tap?, multiQueue?, netns?, up?, mtu? })
TunDevice::TunDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunDevice>(info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowType(env, "new TunDevice(options) needs an options object");
  Napi::Object o = info[0].As<Napi::Object>();
  TunConfig c;
  Napi::Value name = o.Get("name");
  if (!name.IsString()) ThrowType(env, "option name must be a string");
  c.name = name.As<Napi::String>().Utf8Value();
  auto flag = [&](const char* key) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return false;
    if (!v.IsBoolean()) ThrowType(env, std::string("option ") + key + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  };
  c.tap = flag("tap");
  c.multiQueue = flag("multiQueue");
  c.up = flag("up");
  Napi::Value mtu = o.Get("mtu");
  if (!mtu.IsUndefined()) {
    if (!mtu.IsNumber() || mtu.As<Napi::Number>().DoubleValue() < 68 || mtu.As<Napi::Number>().DoubleValue() > 65535) {
      ThrowType(env, "option mtu must be a number from 68 to 65535");
    }
    c.mtu = mtu.As<Napi::Number>().Uint32Value();
  }
  std::string netns;
  Napi::Value ns = o.Get("netns");
  if (!ns.IsUndefined()) {
    if (!ns.IsString()) ThrowType(env, "option netns must be a string");
    netns = ns.As<Napi::String>().Utf8Value();
  }
  TunOpened opened;
  SysError e = RunInNetns(netns, [&]() { return OpenTun(c, &opened); });
  if (e.failed()) ThrowSys(env, e);
  fd_ = opened.fd;
  name_ = opened.name;
}

TunDevice::~TunDevice() { CloseNow(); }

void TunDevice::CloseNow() {
  poller_.Close();  // before close(fd), as libuv requires
  if (fd_ >= 0) {
    close(fd_);
    fd_ = -1;
  }
  regions_.Clear();
}

void TunDevice::CheckOpen(Napi::Env env) const {
  if (fd_ < 0) ThrowSys(env, EBADF, "TUN device '" + name_ + "' is closed");
}

Napi::Value TunDevice::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

Napi::Value TunDevice::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

// readBatch(buf: Uint8Array, start, stride, room, max, len: Int32Array): packet i is read to
// buf[start + i * stride], at most `room` bytes, its length into len[i]; reads until nothing is
// waiting (EAGAIN) or max packets. Returns the count. A packet of exactly `room` bytes may have
// been cut short (the kernel truncates silently): size room above the device's MTU.
Napi::Value TunDevice::ReadBatch(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 6 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsTypedArray() ||
      info[5].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(env, "readBatch(buf: Uint8Array, start, stride, room, max, len: Int32Array)");
  }
  Napi::Uint8Array buf = info[0].As<Napi::Uint8Array>();
  int64_t start = info[1].As<Napi::Number>().Int64Value();
  int64_t stride = info[2].As<Napi::Number>().Int64Value();
  int64_t room = info[3].As<Napi::Number>().Int64Value();
  int64_t max = info[4].As<Napi::Number>().Int64Value();
  Napi::Int32Array lens = info[5].As<Napi::Int32Array>();
  if (start < 0 || room <= 0 || stride < room || max <= 0 || static_cast<int64_t>(lens.ElementLength()) < max ||
      start + (max - 1) * stride + room > static_cast<int64_t>(buf.ByteLength())) {
    ThrowType(env, "readBatch: the slots (start + (max - 1) * stride + room) must lie inside buf and len must hold max");
  }
  uint8_t* base = buf.Data();
  int32_t* out = lens.Data();
  int64_t n = 0;
  while (n < max) {
    ssize_t r = read(fd_, base + start + n * stride, static_cast<size_t>(room));
    if (r >= 0) {
      out[n++] = static_cast<int32_t>(r);
      continue;
    }
    int err = errno;
    if (err == EINTR) continue;
    if (err == EAGAIN || err == EWOULDBLOCK) break;
    // A real failure (the device went down: EIO...): report it unless we already have packets
    // to hand out, in which case the next call meets it again.
    if (n == 0) ThrowSys(env, FromErrno(err, "reading TUN device '" + name_ + "'"));
    break;
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

Napi::Value TunDevice::AddRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1) ThrowType(env, "addRegion(memory) needs a Uint8Array");
  return Napi::Number::New(env, regions_.Add(env, info[0]));
}

// write(region, off, len, start, count): one write() per packet (a TUN fd takes one packet per
// call). Returns how many the kernel took; a full queue (EAGAIN) drops the rest of the batch.
Napi::Value TunDevice::Write(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  TxDescriptors d = ReadTxDescriptors(info);
  uint32_t sent = 0;
  const uint32_t end = d.start + d.count;
  for (uint32_t i = d.start; i < end; i++) {
    uint8_t* p = regions_.Resolve(d.region[i], d.off[i], d.len[i]);
    if (p == nullptr) continue;
    ssize_t r;
    do {
      r = write(fd_, p, static_cast<size_t>(d.len[i]));
    } while (r < 0 && errno == EINTR);
    if (r >= 0) {
      sent++;
      continue;
    }
    lastWriteErrno_ = errno;
    if (lastWriteErrno_ == EAGAIN || lastWriteErrno_ == EWOULDBLOCK) break;
    // EINVAL (a malformed packet), EIO (device down)...: this packet is dropped, go on.
  }
  return Napi::Number::New(env, sent);
}

Napi::Value TunDevice::LastWriteErrno(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), lastWriteErrno_);
}

Napi::Value TunDevice::StartPoll(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CheckOpen(env);
  if (info.Length() < 1 || !info[0].IsFunction()) ThrowType(env, "startPoll(callback) needs a function");
  poller_.Start(env, fd_, info[0].As<Napi::Function>());
  if (!pollRef_) {
    Ref();
    pollRef_ = true;
  }
  return env.Undefined();
}

Napi::Value TunDevice::StopPoll(const Napi::CallbackInfo& info) {
  poller_.Stop();
  if (pollRef_) {
    Unref();
    pollRef_ = false;
  }
  return info.Env().Undefined();
}

Napi::Value TunDevice::Close(const Napi::CallbackInfo& info) {
  if (fd_ < 0) return info.Env().Undefined();
  StopPoll(info);
  CloseNow();
  return info.Env().Undefined();
}

}  // namespace uvs
