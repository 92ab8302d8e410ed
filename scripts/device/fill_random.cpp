// Writes a safetensors header (argv[1]: the 8-byte length and the JSON) followed by argv[3] bytes of small random
// f32 values to argv[2]: a random-weight model of the same shapes, for timing on a machine that the real file
// cannot be carried to (scripts/device/prepare_avx512.sh builds it, avx512_check.sh runs it).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: fill_random HEADER OUT BYTES\n");
    return 2;
  }
  FILE* h = std::fopen(argv[1], "rb");
  FILE* o = std::fopen(argv[2], "wb");
  if (!h || !o) {
    std::fprintf(stderr, "fill_random: cannot open %s\n", !h ? argv[1] : argv[2]);
    return 1;
  }
  std::vector<char> hdr(1 << 20);
  const size_t n = std::fread(hdr.data(), 1, hdr.size(), h);
  std::fwrite(hdr.data(), 1, n, o);
  const long long bytes = std::atoll(argv[3]);
  std::vector<float> buf(1 << 20);
  uint32_t s = 12345;  // LCG: uniform in [-0.02, 0.02)
  for (long long done = 0; done < bytes; done += 4LL * buf.size()) {
    for (float& f : buf) {
      s = s * 1664525u + 1013904223u;
      f = (float(s >> 8) / 16777216.0f - 0.5f) * 0.04f;
    }
    std::fwrite(buf.data(), 1, size_t(std::min<long long>(bytes - done, 4LL * buf.size())), o);
  }
  return std::fclose(o) == 0 ? 0 : 1;
}
