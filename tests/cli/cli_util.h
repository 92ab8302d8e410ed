// Runs the tlt binary built beside the tests (TLT_BINARY) with stdin closed, capturing stdout and stderr together.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace tl::cli_test {

struct Result {
  int code;         // exit status; -1 if tlt did not exit normally
  std::string out;  // stdout and stderr together
};

inline Result run_tlt(const std::string& args) {
  std::string cmd = std::string(TLT_BINARY) + " " + args + " 2>&1 </dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  Result r{-1, ""};
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace tl::cli_test
