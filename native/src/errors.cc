#include "errors.h"

#include <string.h>

namespace uvs {

std::string ErrnoName(int err) {
  // strerrorname_np (glibc 2.32+) gives "ENODEV"; older C libraries fall back to the number.
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
#endif
  return "E" + std::to_string(err);
}

SysError FromErrno(int err, const std::string& what) {
  return SysError{err, what + ": " + strerror(err)};
}

void ThrowSys(Napi::Env env, int err, const std::string& message) {
  Napi::Error e = Napi::Error::New(env, message);
  e.Set("code", Napi::String::New(env, ErrnoName(err)));
  e.Set("errno", Napi::Number::New(env, err));
  throw e;
}

void ThrowSys(Napi::Env env, const SysError& e) { ThrowSys(env, e.err, e.message); }

void ThrowType(Napi::Env env, const std::string& message) { throw Napi::TypeError::New(env, message); }

}  // namespace uvs
