// safetensors writer, byte-identical to the Python package 0.6.2 (checked against its files in tests).
#include <algorithm>
#include <cstring>
#include <fstream>
#include <set>

#include "tl/io/safetensors.h"
#include "tl/json.h"

namespace tl::io {

std::string serialize_safetensors(const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::set<std::string> seen;
  for (const auto& [name, t] : tensors) {
    if (!t.defined()) TL_THROW(ValueError, "[safetensors] save: tensor \"", name, "\" is undefined");
    if (name == "__metadata__") TL_THROW(ValueError, "[safetensors] save: \"__metadata__\" is reserved, not a tensor name");
    if (!seen.insert(name).second) TL_THROW(ValueError, "[safetensors] save: duplicate tensor name \"", name, "\"");
  }
  // The reference orders by dtype, last safetensors dtype first (U64, I64, F64, F32, ...), then by name.
  std::vector<size_t> order(tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    StDType da = st_from_dtype(tensors[a].second.dtype()), db = st_from_dtype(tensors[b].second.dtype());
    if (da != db) return da > db;
    return tensors[a].first < tensors[b].first;
  });
  std::string h = "{";
  if (!metadata.empty()) {  // std::map iterates sorted, as the reference's BTreeMap
    h += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      if (!first) h += ',';
      first = false;
      json::dump_string(h, k);
      h += ':';
      json::dump_string(h, v);
    }
    h += "}";
  }
  uint64_t pos = 0;
  for (size_t i : order) {
    const auto& [name, t] = tensors[i];
    if (h.size() > 1) h += ',';
    json::dump_string(h, name);
    h += ":{\"dtype\":\"";
    h += st_dtype_name(st_from_dtype(t.dtype()));
    h += "\",\"shape\":[";
    for (int d = 0; d < t.rank(); ++d) {
      if (d) h += ',';
      h += std::to_string(t.shape()[d]);
    }
    h += "],\"data_offsets\":[" + std::to_string(pos) + "," + std::to_string(pos + t.nbytes()) + "]}";
    pos += t.nbytes();
  }
  h += '}';
  h.append((8 - h.size() % 8) % 8, ' ');
  std::string out;
  out.reserve(8 + h.size() + pos);
  for (int i = 0; i < 8; ++i) out += char((uint64_t(h.size()) >> (8 * i)) & 0xff);
  out += h;
  for (size_t i : order) {
    Tensor c = tensors[i].second.contiguous();
    if (c.nbytes()) out.append(static_cast<const char*>(c.raw_data()), c.nbytes());  // little-endian host
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const std::map<std::string, std::string>& metadata) {
  std::string bytes = serialize_safetensors(tensors, metadata);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) TL_THROW(IoError, "[safetensors] cannot open '", path, "' for writing");
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f) TL_THROW(IoError, "[safetensors] write to '", path, "' failed");
}

}  // namespace tl::io
