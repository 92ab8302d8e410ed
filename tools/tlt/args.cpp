#include "args.h"

#include <algorithm>
#include <cctype>
#include <exception>

#include "tl/error.h"

namespace tlt {

namespace {
std::string key_of(const FlagSpec& s) {
  for (const auto& n : s.names)
    if (n.rfind("--", 0) == 0) return n.substr(2);
  return s.names.front().substr(1);
}
}  // namespace

Args::Args(int argc, char** argv, int first, const std::vector<FlagSpec>& specs) {
  bool only_positional = false;
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    // A flag is -x or --xyz; anything else starting with '-' (a negative number, an einsum spec "->") and
    // everything after "--" is positional.
    auto alpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; };
    bool is_flag = !only_positional && a.size() > 1 && a[0] == '-' &&
                   (alpha(a[1]) || (a[1] == '-' && a.size() > 2 && alpha(a[2])));
    if (a == "--" && !only_positional) {
      only_positional = true;
      continue;
    }
    if (is_flag) {
      std::string name = a, value;
      bool inline_value = false;
      if (auto eq = a.find('='); a.rfind("--", 0) == 0 && eq != std::string::npos) {
        name = a.substr(0, eq);
        value = a.substr(eq + 1);
        inline_value = true;
      }
      const FlagSpec* spec = nullptr;
      for (const auto& s : specs)
        for (const auto& n : s.names)
          if (n == name) spec = &s;
      if (!spec) TL_THROW(tl::ValueError, "unknown option '", name, "' (see --help)");
      if (spec->takes_value) {
        if (!inline_value) {
          if (i + 1 >= argc) TL_THROW(tl::ValueError, "option '", name, "' expects a value");
          value = argv[++i];
        }
      } else if (inline_value) {
        TL_THROW(tl::ValueError, "option '", name, "' takes no value");
      }
      vals_[key_of(*spec)].push_back(value);
    } else {
      pos_.push_back(a);
    }
  }
}

std::optional<std::string> Args::get(const std::string& key) const {
  auto it = vals_.find(key);
  if (it == vals_.end()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(const std::string& key) const {
  auto it = vals_.find(key);
  return it == vals_.end() ? std::vector<std::string>{} : it->second;
}

int Args::get_int(const std::string& key, int def) const {
  auto v = get(key);
  if (!v) return def;
  try {
    size_t used = 0;
    int r = std::stoi(*v, &used);
    if (used != v->size()) throw std::invalid_argument("trailing");
    return r;
  } catch (const std::exception&) {
    TL_THROW(tl::ValueError, "option '--", key, "' expects an integer, got '", *v, "'");
  }
}

std::string flags_help(const std::vector<FlagSpec>& specs) {
  std::string r;
  for (const auto& s : specs) {
    std::string names;
    for (const auto& n : s.names) names += (names.empty() ? "" : ", ") + n;
    if (s.takes_value) names += " VALUE";
    r += "  " + names + std::string(names.size() < 26 ? 26 - names.size() : 1, ' ') + s.help + "\n";
  }
  return r;
}

std::vector<int64_t> parse_id_list(const std::string& s, const std::string& flag) {
  std::vector<int64_t> ids;
  size_t i = 0;
  while (i <= s.size()) {
    const size_t j = std::min(s.find(',', i), s.size());
    const std::string t = s.substr(i, j - i);
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(t, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (t.empty() || used != t.size())
      TL_THROW(tl::ValueError, flag, ": \"", t, "\" in \"", s, "\" is not an integer id");
    ids.push_back(v);
    i = j + 1;
  }
  return ids;
}

}  // namespace tlt
