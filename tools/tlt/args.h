// A small command-line parser: positional arguments plus flags with or without values, with aliases.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tlt {

struct FlagSpec {
  std::vector<std::string> names;  // e.g. {"-o", "--output"}; the first long name is the key
  bool takes_value;
  std::string help;
};

class Args {
 public:
  // Parses argv[first..argc); throws tl::ValueError on an unknown flag or a missing value.
  Args(int argc, char** argv, int first, const std::vector<FlagSpec>& specs);
  const std::vector<std::string>& positional() const { return pos_; }
  bool has(const std::string& key) const { return vals_.count(key) > 0; }
  // The last value given for a flag (flags may repeat; see all()).
  std::optional<std::string> get(const std::string& key) const;
  // Every value given for a flag, in command-line order.
  std::vector<std::string> all(const std::string& key) const;
  int get_int(const std::string& key, int def) const;

 private:
  std::vector<std::string> pos_;
  std::map<std::string, std::vector<std::string>> vals_;
};

// "1,2,3" -> {1, 2, 3}; ValueError naming `flag` and the bad item.
std::vector<int64_t> parse_id_list(const std::string& s, const std::string& flag);

// "Usage" text for a command's flags.
std::string flags_help(const std::vector<FlagSpec>& specs);

}  // namespace tlt
