// Graph text form: parse, verify, and for a valid graph print and re-parse (must round-trip exactly).
#include "fuzz_common.h"
#include "tl/graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::Graph g = tl::parse_graph_text(tl::fuzz::as_text(data, size), "<fuzz>");
    tl::verify(g);
    if (!(tl::parse_graph_text(tl::to_text(g)) == g)) __builtin_trap();
    (void)tl::to_json(g);
    (void)tl::to_dot(g);
  });
  return 0;
}
