// ChatTemplate: parse once (lexer + parser), render many times; model-directory discovery as transformers
// 4.57.1's PreTrainedTokenizerBase.from_pretrained does it.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat_template_internal.h"
#include "internal.h"
#include "tl/json.h"

namespace tl::tok {
namespace {

std::optional<std::string> read_file(const std::filesystem::path& p) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(p, ec)) return std::nullopt;
  std::ifstream in(p, std::ios::binary);
  if (!in) throw IoError("cannot open " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<json::Value> read_config(const std::string& dir) {
  auto path = std::filesystem::path(dir) / "tokenizer_config.json";
  auto text = read_file(path);
  if (!text) return std::nullopt;
  try {
    return json::parse(*text);
  } catch (const ParseError& e) {
    throw ParseError(path.string() + ": " + e.what());
  }
}

// A special token is a string or an AddedToken object {"content": "...", ...}.
std::string token_string(const json::Value& cfg, const char* key, const std::string& file) {
  const json::Value* v = cfg.find(key);
  if (!v || v->is_null()) return "";
  if (v->is_string()) return v->as_string();
  if (const json::Value* c = v->find("content"); c && c->is_string()) return c->as_string();
  throw ValueError(file + ": \"" + key + "\" must be a string or an object with \"content\", got " +
                   json::type_name(v->type()));
}

}  // namespace

SpecialTokens SpecialTokens::from_model_dir(const std::string& dir) {
  SpecialTokens t;
  auto cfg = read_config(dir);
  if (!cfg) return t;
  std::string file = (std::filesystem::path(dir) / "tokenizer_config.json").string();
  t.bos_token = token_string(*cfg, "bos_token", file);
  t.eos_token = token_string(*cfg, "eos_token", file);
  t.unk_token = token_string(*cfg, "unk_token", file);
  t.pad_token = token_string(*cfg, "pad_token", file);
  return t;
}

ChatTemplate ChatTemplate::parse(const std::string& source, const std::string& name) {
  auto impl = std::make_shared<Impl>();
  impl->src.name = name;
  check_utf8(source, (name + " (template source)").c_str());
  // jinja2: \r\n and \r become \n; one trailing newline is dropped (keep_trailing_newline=False).
  std::string& t = impl->src.text;
  t.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      t += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      t += source[i];
    }
  }
  if (!t.empty() && t.back() == '\n') t.pop_back();
  impl->src.line_starts.push_back(0);
  for (size_t i = 0; i < t.size(); ++i)
    if (t[i] == '\n') impl->src.line_starts.push_back(i + 1);
  std::vector<jinja::Token> toks = jinja::lex(impl->src);
  impl->body = jinja::parse_template(impl->src, toks);
  return ChatTemplate(std::move(impl));
}

std::optional<ChatTemplate> ChatTemplate::from_model_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  // transformers reads chat_template.jinja after tokenizer_config.json and lets it win.
  fs::path jinja_file = fs::path(dir) / "chat_template.jinja";
  if (auto text = read_file(jinja_file)) return parse(*text, jinja_file.string());
  auto cfg = read_config(dir);
  if (!cfg) return std::nullopt;
  std::string file = (fs::path(dir) / "tokenizer_config.json").string();
  const json::Value* ct = cfg->find("chat_template");
  if (!ct || ct->is_null()) return std::nullopt;
  if (ct->is_string()) return parse(ct->as_string(), file + ": chat_template");
  if (!ct->is_array())
    throw ValueError(file + ": \"chat_template\" must be a string or a list of {name, template}, got " +
                     json::type_name(ct->type()));
  std::string names;
  for (size_t i = 0; i < ct->as_array().size(); ++i) {
    const json::Value& e = ct->as_array()[i];
    const json::Value* n = e.find("name");
    const json::Value* tpl = e.find("template");
    if (!n || !n->is_string() || !tpl || !tpl->is_string())
      throw ValueError(detail::cat(file, ": chat_template[", i, "] must be {\"name\": string, \"template\": string}"));
    if (n->as_string() == "default") return parse(tpl->as_string(), file + ": chat_template[default]");
    names += (names.empty() ? "" : ", ") + n->as_string();
  }
  throw ValueError(file + ": chat_template has several templates and none named \"default\" (names: " + names + ")");
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const std::string& bos_token, const std::string& eos_token) const {
  SpecialTokens s;
  s.bos_token = bos_token;
  s.eos_token = eos_token;
  return render(messages, add_generation_prompt, s);
}

std::string ChatTemplate::render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                                 const SpecialTokens& special, const std::map<std::string, std::string>& extra) const {
  using jinja::Value;
  std::vector<Value> msgs;
  for (size_t i = 0; i < messages.size(); ++i) {
    check_utf8(messages[i].role, detail::cat("messages[", i, "].role").c_str());
    check_utf8(messages[i].content, detail::cat("messages[", i, "].content").c_str());
    msgs.emplace_back(jinja::make_dict({{"role", Value(messages[i].role)}, {"content", Value(messages[i].content)}}));
  }
  std::vector<std::pair<std::string, Value>> vars = {
      {"messages", Value(jinja::make_list(std::move(msgs)))},
      {"add_generation_prompt", Value(add_generation_prompt)},
      {"tools", Value(nullptr)},
      {"documents", Value(nullptr)},
      {"bos_token", Value(special.bos_token)},
      {"eos_token", Value(special.eos_token)},
      {"unk_token", Value(special.unk_token)},
      {"pad_token", Value(special.pad_token)},
  };
  for (const auto& [k, v] : extra) {
    check_utf8(v, k.c_str());
    vars.emplace_back(k, Value(v));  // later entries win the lookup
  }
  return render_template(*impl_, vars);
}

const std::string& ChatTemplate::name() const { return impl_->src.name; }

ChatTemplate::ChatTemplate(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
ChatTemplate::ChatTemplate(ChatTemplate&&) noexcept = default;
ChatTemplate& ChatTemplate::operator=(ChatTemplate&&) noexcept = default;
ChatTemplate::ChatTemplate(const ChatTemplate&) = default;
ChatTemplate& ChatTemplate::operator=(const ChatTemplate&) = default;
ChatTemplate::~ChatTemplate() = default;

}  // namespace tl::tok
