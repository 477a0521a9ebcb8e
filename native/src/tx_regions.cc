#include "tx_regions.h"

#include "errors.h"

namespace uvs {

uint32_t TxRegions::Add(Napi::Env env, Napi::Value memory) {
  if (!memory.IsTypedArray() || memory.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(env, "a tx region must be a Uint8Array");
  }
  Napi::Uint8Array bytes = memory.As<Napi::Uint8Array>();
  if (bytes.ArrayBuffer().IsDetached()) ThrowType(env, "a tx region must not be a closed port's ring");
  if (regions_.size() >= 0x7fffffff) ThrowType(env, "too many tx regions");
  regions_.push_back(Region{bytes.Data(), bytes.ByteLength(), Napi::Persistent(bytes.As<Napi::Object>())});
  return static_cast<uint32_t>(regions_.size() - 1);
}

static const int32_t* Int32Data(const Napi::CallbackInfo& info, size_t i, const char* what, uint32_t need) {
  Napi::Env env = info.Env();
  if (!info[i].IsTypedArray() || info[i].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    ThrowType(env, std::string(what) + " must be an Int32Array");
  }
  Napi::Int32Array a = info[i].As<Napi::Int32Array>();
  if (a.ElementLength() < need) ThrowType(env, std::string(what) + " is shorter than start + count");
  return a.Data();
}

TxDescriptors ReadTxDescriptors(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[3].IsNumber() || !info[4].IsNumber()) {
    ThrowType(env, "expected (region: Int32Array, off: Int32Array, len: Int32Array, start: number, count: number)");
  }
  int64_t start = info[3].As<Napi::Number>().Int64Value();
  int64_t count = info[4].As<Napi::Number>().Int64Value();
  if (start < 0 || count < 0 || start + count > 0x7fffffff) ThrowType(env, "start and count must be >= 0");
  uint32_t need = static_cast<uint32_t>(start + count);
  TxDescriptors d;
  d.region = Int32Data(info, 0, "region", need);
  d.off = Int32Data(info, 1, "off", need);
  d.len = Int32Data(info, 2, "len", need);
  d.start = static_cast<uint32_t>(start);
  d.count = static_cast<uint32_t>(count);
  return d;
}

}  // namespace uvs
