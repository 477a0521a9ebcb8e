// Memory that transmit descriptors may point into: registered once (a ring, an output slab, a
// port's own copy buffer), then named by index in (region, offset, length) triples, so a flush
// passes three Int32Arrays instead of one buffer per frame.
#pragma once
#include <napi.h>
#include <stdint.h>

#include <vector>

namespace uvs {

class TxRegions {
 public:
  // Registers the bytes of a Uint8Array; returns its index. The JS object is kept alive (a strong
  // reference), so the memory cannot be collected while frames may point into it. A region that
  // is an external ring of a port closed later gives EFAULT on send (counted as a drop), never a
  // crash: the kernel checks user pointers.
  uint32_t Add(Napi::Env env, Napi::Value memory);

  // The bytes [off, off + len) of region `index`, or nullptr when they are not all inside it.
  uint8_t* Resolve(int32_t index, int32_t off, int32_t len) const {
    if (index < 0 || static_cast<size_t>(index) >= regions_.size() || off < 0 || len <= 0) return nullptr;
    const Region& r = regions_[index];
    if (static_cast<uint64_t>(off) + static_cast<uint64_t>(len) > r.length) return nullptr;
    return r.data + off;
  }

  void Clear() { regions_.clear(); }

 private:
  struct Region {
    uint8_t* data;
    size_t length;
    Napi::ObjectReference keep;
  };
  std::vector<Region> regions_;
};

// The three descriptor arrays of a transmit call, checked against start + count.
struct TxDescriptors {
  const int32_t* region;
  const int32_t* off;
  const int32_t* len;
  uint32_t start;
  uint32_t count;
};

// Reads (region: Int32Array, off: Int32Array, len: Int32Array, start: number, count: number).
TxDescriptors ReadTxDescriptors(const Napi::CallbackInfo& info);

}  // namespace uvs
