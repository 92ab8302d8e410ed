// load_graph: read a file, pick the JSON or text parser by extension or content, verify.
#include <fstream>
#include <sstream>

#include "tl/graph.h"

namespace tl {

Graph load_graph(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) TL_THROW(IoError, "cannot open graph file '", path, "'");
  std::ostringstream ss;
  ss << f.rdbuf();
  std::string text = ss.str();
  bool is_json = path.size() >= 5 && path.compare(path.size() - 5, 5, ".json") == 0;
  if (!is_json) {
    size_t p = text.find_first_not_of(" \t\r\n");
    is_json = p != std::string::npos && text[p] == '{';
  }
  Graph g = is_json ? parse_graph_json(text, path) : parse_graph_text(text, path);
  verify(g);
  return g;
}

}  // namespace tl
