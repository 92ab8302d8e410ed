// Errors: every failure on user input is a typed exception whose message names the thing, the expected
// and the actual. The library never calls exit/abort on user input.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tl {

// Base of all library errors.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};
// Shapes or ranks that do not fit together.
class ShapeError : public Error {
 public:
  using Error::Error;
};
// A value outside its allowed set (bad dtype, bad attribute, bad argument).
class ValueError : public Error {
 public:
  using Error::Error;
};
// Malformed text (einsum specs, graph text/JSON, .tl programs); carries a position where known.
class ParseError : public Error {
 public:
  using Error::Error;
};
// File-level failures: missing files, truncated or malformed binary formats.
class IoError : public Error {
 public:
  using Error::Error;
};
// A broken internal invariant (a bug in this library, not in the input).
class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
}  // namespace detail

}  // namespace tl

// Throw an error of type T with a message streamed from the arguments:
//   TL_THROW(tl::ShapeError, "[einsum] operand ", i, " has ", r, " dims but subscript \"", s, "\" names ", n);
#define TL_THROW(T, ...) throw T(::tl::detail::cat(__VA_ARGS__))

// Always-on internal invariant check that reports file and line.
#define TL_CHECK(cond, ...)                                                                            \
  do {                                                                                                 \
    if (!(cond))                                                                                       \
      throw ::tl::InternalError(                                                                       \
          ::tl::detail::cat(__FILE__, ":", __LINE__, ": check failed: " #cond " " __VA_OPT__(, ) __VA_ARGS__)); \
  } while (0)
