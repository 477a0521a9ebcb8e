// Errors of the addon: JS Errors carrying `code` (the errno name, e.g. "ENODEV") and `errno`,
// and a plain C++ value (SysError) for code that runs where no JS is allowed (a setns thread).
#pragma once
#include <napi.h>
#include <string>

namespace uvs {

// A failed system call, described for a person: `message` already names what was being done.
struct SysError {
  int err = 0;           // errno; 0 means no error
  std::string message;   // empty when err == 0
  bool failed() const { return err != 0; }
};

// "ENODEV" for ENODEV, or "E<number>" when the C library has no name for it.
std::string ErrnoName(int err);

// Makes a SysError from errno after a failed call: "<what>: <strerror>".
SysError FromErrno(int err, const std::string& what);

// Throws a JS Error with message, code (errno name) and errno.
[[noreturn]] void ThrowSys(Napi::Env env, const SysError& e);
[[noreturn]] void ThrowSys(Napi::Env env, int err, const std::string& message);

// Throws a TypeError (bad arguments from JS: a programming error, not a system failure).
[[noreturn]] void ThrowType(Napi::Env env, const std::string& message);

}  // namespace uvs
