// Graph JSON form: parse, verify, and for a valid graph print and re-parse (must round-trip exactly).
#include "fuzz_common.h"
#include "tl/graph.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tl::fuzz::expect_clean([&] {
    tl::Graph g = tl::parse_graph_json(tl::fuzz::as_text(data, size), "<fuzz>");
    tl::verify(g);
    if (!(tl::parse_graph_json(tl::to_json(g)) == g)) __builtin_trap();
  });
  return 0;
}
