// Hugging Face chat templates: a small Jinja subset that renders a conversation to the exact text
// transformers' tokenizer.apply_chat_template(..., tokenize=False) produces (transformers 4.57.1, jinja2 3.1.6,
// whose Environment uses trim_blocks=True, lstrip_blocks=True and the loopcontrols extension).
// The subset is listed in docs/chat_templates.md; checked against transformers by tests/tokenizer/
// chat_template_test.cpp with the fixtures of scripts/gen_chat_template_fixtures.py.
//
// Errors: anything outside the subset is a tl::ParseError "<name>:<line>:<column>: ..." naming the construct,
// found when the template is parsed (never at render time when it can be known earlier). Rendering errors (an
// undefined variable used in arithmetic, a type error, raise_exception(...), exceeded limits) are
// tl::ValueError "<name>:<line>:<column>: ..." (the expression being evaluated); raise_exception('msg') gives
// "<name>:<line>:<column>: raise_exception: msg".
// Limits (clear errors, never a crash or a hang): nesting of blocks + expressions 100 deep, 100,000 loop
// iterations, 2,000,000 evaluation steps, 16 MiB of string work and 16 MiB of output per render.
#pragma once
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace tl::tok {

struct ChatMessage {
  std::string role, content;
};

// The special-token strings a template sees as variables (tokenizer_config.json "bos_token" etc., either a
// plain string or an AddedToken object {"content": ...}); empty when the file does not name them.
struct SpecialTokens {
  std::string bos_token, eos_token, unk_token, pad_token;
  // Reads <dir>/tokenizer_config.json; all empty when the file is absent. Malformed JSON is a ParseError.
  static SpecialTokens from_model_dir(const std::string& dir);
};

class ChatTemplate {
 public:
  struct Impl;  // opaque: the parsed template (src/tokenizer/chat_template*.cpp)

  // Parses Jinja source; ParseError naming `name`, line:column and the construct on anything unsupported.
  static ChatTemplate parse(const std::string& source, const std::string& name = "chat_template");
  // <dir>/tokenizer_config.json "chat_template" (a string, or a list of {name, template}: the "default" one),
  // else <dir>/chat_template.jinja (newer transformers layout); nullopt when the model ships none.
  static std::optional<ChatTemplate> from_model_dir(const std::string& dir);

  // bos_token / eos_token as the template variables of those names (from tokenizer_config.json / special
  // tokens). Also defined, as transformers does: messages, add_generation_prompt, tools=None, documents=None.
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const std::string& bos_token = "", const std::string& eos_token = "") const;
  // As above with all four special tokens of `special` (bos_token, eos_token, unk_token, pad_token; always
  // defined, "" when absent) and extra string variables (template kwargs; they override the tokens).
  std::string render(const std::vector<ChatMessage>& messages, bool add_generation_prompt,
                     const SpecialTokens& special, const std::map<std::string, std::string>& extra = {}) const;

  const std::string& name() const;

  ChatTemplate(ChatTemplate&&) noexcept;
  ChatTemplate& operator=(ChatTemplate&&) noexcept;
  ChatTemplate(const ChatTemplate&);
  ChatTemplate& operator=(const ChatTemplate&);
  ~ChatTemplate();

 private:
  explicit ChatTemplate(std::shared_ptr<const Impl> impl);
  std::shared_ptr<const Impl> impl_;  // immutable once parsed: copies share it, render is thread-safe
};

}  // namespace tl::tok
