// Chat templates: renders byte-identical to transformers 4.57.1 apply_chat_template (fixtures of
// scripts/gen_chat_template_fixtures.py: SmolLM2, Llama-3, ChatML, Zephyr, Mistral, Gemma, Llama-2, a
// namespace() template and Jinja-semantics cases), error messages for everything outside the subset, limits,
// and model-directory discovery.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tl/chat_template.h"
#include "tl/error.h"
#include "tl/json.h"

namespace {

using tl::tok::ChatMessage;
using tl::tok::ChatTemplate;

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const std::vector<ChatMessage> kConv = {{"system", "Be brief."}, {"user", "Hi"}};

// The message of the exception f throws as E (empty when it throws nothing).
template <class E, class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const E& e) {
    return e.what();
  }
  return "";
}
std::string parse_error(const std::string& src) {
  return error_of<tl::ParseError>([&] { ChatTemplate::parse(src, "t"); });
}
std::string render_error(const std::string& src, const std::vector<ChatMessage>& conv = kConv) {
  return error_of<tl::ValueError>([&] { ChatTemplate::parse(src, "t").render(conv, true, "<s>", "</s>"); });
}
std::string render(const std::string& src, const std::vector<ChatMessage>& conv = kConv) {
  return ChatTemplate::parse(src, "t").render(conv, true, "<s>", "</s>");
}

// Exact text equality: the fixture stores transformers' output; any byte of difference is a failure.
TEST(ChatTemplate, MatchesTransformers) {
  tl::json::Value doc = tl::json::parse(read(std::string(TL_FIXTURE_DIR) + "/chat/render.json"));
  const auto& templates = doc.as_object().at("templates").as_object();
  const auto& convs = doc.as_object().at("conversations").as_object();
  tl::tok::SpecialTokens special;
  special.unk_token = doc.as_object().at("unk_token").as_string();
  special.pad_token = doc.as_object().at("pad_token").as_string();
  size_t n = 0, errors = 0;
  std::set<std::string> seen;
  for (const auto& c : doc.as_object().at("cases").as_array()) {
    const auto& o = c.as_object();
    const std::string& tname = o.at("template").as_string();
    const std::string& cname = o.at("conversation").as_string();
    SCOPED_TRACE(tname + " / " + cname + " / gen=" + (o.at("add_generation_prompt").as_bool() ? "1" : "0"));
    std::vector<ChatMessage> conv;
    for (const auto& m : convs.at(cname).as_array())
      conv.push_back({m.as_object().at("role").as_string(), m.as_object().at("content").as_string()});
    ChatTemplate t = ChatTemplate::parse(templates.at(tname).as_string(), tname);
    special.bos_token = o.at("bos_token").as_string();
    special.eos_token = o.at("eos_token").as_string();
    bool gen = o.at("add_generation_prompt").as_bool();
    if (const auto* want = o.find("expected")) {
      EXPECT_EQ(t.render(conv, gen, special), want->as_string());
    } else {
      std::string msg = error_of<tl::ValueError>([&] { t.render(conv, gen, special); });
      EXPECT_NE(msg.find("raise_exception: " + o.at("error").as_string()), std::string::npos) << msg;
      ++errors;
    }
    seen.insert(tname);
    ++n;
  }
  EXPECT_GE(n, 100u);
  EXPECT_GE(errors, 10u);
  for (const char* real : {"smollm2", "llama3", "chatml", "zephyr", "mistral", "gemma", "llama2",
                           "namespace_llama31_style"})
    EXPECT_TRUE(seen.count(real)) << real;
}

TEST(ChatTemplate, SimpleOverloadDefinesBosEos) {
  EXPECT_EQ(render("{{ bos_token }}|{{ eos_token }}|{{ unk_token }}|{{ messages | length }}|{{ tools }}"),
            "<s>|</s>||2|None");
  ChatTemplate t = ChatTemplate::parse("{{ who }} {{ bos_token }}");
  EXPECT_EQ(t.render({}, false, tl::tok::SpecialTokens{"B", "E", "U", "P"}, {{"who", "me"}}), "me B");
}

TEST(ChatTemplate, UnsupportedConstructsAreParseErrors) {
  struct Case {
    const char* src;
    const char* want;
  };
  const Case cases[] = {
      {"{% macro f() %}x{% endmacro %}", "t:1:4: unsupported tag 'macro'"},
      {"a\n{% include 'x' %}", "t:2:4: unsupported tag 'include'"},
      {"{% frobnicate %}", "unknown tag 'frobnicate'"},
      {"{% if true %}x", "t:1:15: unexpected end of template: a block is not closed (looking for 'elif' or "
                         "'else' or 'endif')"},
      {"{% for m in messages %}x", "looking for 'else' or 'endfor'"},
      {"{% endif %}", "unexpected 'endif'"},
      {"{{ 1 + }}", "t:1:8: expected an expression, got end of print statement '}}'"},
      {"{{ 'abc }}", "unterminated string literal"},
      {"{{ x", "'{{' is never closed"},
      {"{# open comment", "missing end of comment tag"},
      {"{{ x | frob }}", "t:1:6: unsupported filter 'frob'"},
      {"{{ x is frob }}", "unsupported test 'frob'"},
      {"{{ (1 ]", "unexpected ']', expected ')'"},
      {"{% break %}", "'break' outside of a for loop"},
      {"{% for x in y recursive %}{% endfor %}", "recursive for loops are not supported"},
      {"{{ f(*a) }}", "*args and **kwargs"},
      {"{{ 99999999999999999999 }}", "does not fit 64 bits"},
      {"{{ '\\ud800' }}", "not valid Unicode text"},
      {"{{ é }}", "unexpected character U+e9"},
      {"{% set x %}", "looking for 'endset'"},
  };
  for (const auto& c : cases) {
    std::string msg = parse_error(c.src);
    EXPECT_NE(msg.find(c.want), std::string::npos) << c.src << " -> " << msg;
  }
  EXPECT_NE(error_of<tl::ValueError>([] { ChatTemplate::parse("\xff{{ x }}"); }).find("invalid"), std::string::npos);
}

TEST(ChatTemplate, RenderErrors) {
  EXPECT_EQ(render_error("{{ raise_exception('Roles must alternate') }}"), "t:1:4: raise_exception: Roles must alternate");
  EXPECT_EQ(render_error("line1\n{{ x + 1 }}"), "t:2:6: 'x' is undefined");
  EXPECT_NE(render_error("{{ x.y }}").find("'x' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 + 'a' }}").find("unsupported operand type(s) for +: 'int' and 'str'"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 1 < 'a' }}").find("'<' not supported"), std::string::npos);
  EXPECT_NE(render_error("{{ strftime_now('%Y') }}").find("strftime_now() is not supported"), std::string::npos);
  EXPECT_NE(render_error("{% set x = 1 %}{% set x.a = 2 %}").find("not a namespace()"), std::string::npos);
  EXPECT_NE(render_error("{{ 9223372036854775807 + 1 }}").find("integer overflow"), std::string::npos);
  EXPECT_NE(render_error("{{ 1 // 0 }}").find("division or modulo by zero"), std::string::npos);
  EXPECT_NE(render_error("{{ messages.foo() }}").find("'foo' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ '%s' % 1 }}").find("string % formatting"), std::string::npos);
  EXPECT_NE(render_error("{{ 'a'.zfill(3) }}").find("'zfill' is undefined"), std::string::npos);
  EXPECT_NE(render_error("{{ x | tojson }}").find("not JSON serializable"), std::string::npos);
  EXPECT_NE(render_error("{{ y }}", {{"user", "\xc3"}}).find("messages[0].content"), std::string::npos);
}

TEST(ChatTemplate, NestingIsLimited) {
  std::string deep_if, deep_expr = std::string(150, '(') + "1" + std::string(150, ')'), chain = "1";
  for (int i = 0; i < 120; ++i) deep_if += "{% if true %}";
  for (int i = 0; i < 200; ++i) chain += " + 1";
  EXPECT_NE(parse_error(deep_if).find("nested deeper than 100 levels"), std::string::npos) << parse_error(deep_if);
  EXPECT_NE(parse_error("{{ " + deep_expr + " }}").find("deeper than 100"), std::string::npos);
  EXPECT_NE(parse_error("{{ " + chain + " }}").find("expression nested deeper than 100 levels"), std::string::npos);
  EXPECT_NE(parse_error("{{ " + std::string(500, '[') + std::string(500, ']') + " }}").find("deeper than"), std::string::npos);
  EXPECT_NE(parse_error("{{ " + std::string(300, '-') + "1 }}").find("deeper than"), std::string::npos);
  // 50 levels is fine.
  std::string ok;
  for (int i = 0; i < 50; ++i) ok += "{% if true %}";
  ok += "x";
  for (int i = 0; i < 50; ++i) ok += "{% endif %}";
  EXPECT_EQ(render(ok), "x");
}

TEST(ChatTemplate, RunawayRendersAreStopped) {
  EXPECT_NE(render_error("{% set r = range(1000) %}{% for i in r %}{% for j in r %}{% endfor %}{% endfor %}")
                .find("loop iterations"),
            std::string::npos);
  EXPECT_NE(render_error("{% for i in range(200000) %}{% endfor %}").find("range() longer than"), std::string::npos);
  EXPECT_NE(render_error("{% set s = namespace(v='xxxxxxxxxxxxxxxx') %}{% for i in range(40) %}"
                         "{% set s.v = s.v ~ s.v %}{% endfor %}")
                .find("MiB of string work"),
            std::string::npos);
  EXPECT_NE(render_error("{{ 'x' * 100000000000 }}").find("too large"), std::string::npos);
  std::string nest = "{% set ns = namespace(v=1) %}{% for i in range(100) %}{% set ns.v = [ns.v] %}{% endfor %}";
  EXPECT_NE(render_error(nest).find("nested"), std::string::npos);
  EXPECT_NE(render_error("{% set ns = namespace() %}{% set ns.a = [ns] %}").find("namespace() cannot be stored"),
            std::string::npos);
}

class ChatTemplateDir : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("tl_chat_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                               ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir / name, std::ios::binary) << text; }
};

TEST_F(ChatTemplateDir, ReadsTokenizerConfig) {
  EXPECT_FALSE(ChatTemplate::from_model_dir(dir.string()).has_value());
  write("tokenizer_config.json",
        R"({"bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>", "pad_token": null,
            "chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"})");
  auto t = ChatTemplate::from_model_dir(dir.string());
  ASSERT_TRUE(t.has_value());
  auto sp = tl::tok::SpecialTokens::from_model_dir(dir.string());
  EXPECT_EQ(sp.bos_token, "<s>");
  EXPECT_EQ(sp.eos_token, "</s>");
  EXPECT_EQ(sp.pad_token, "");
  EXPECT_EQ(t->render(kConv, false, sp), "<s>Be brief.Hi</s>");
  // The list form picks "default".
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"},
                                                        {"name": "default", "template": "D"}]})");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string())->render(kConv, false), "D");
  write("tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "T"}]})");
  EXPECT_NE(error_of<tl::ValueError>([&] { ChatTemplate::from_model_dir(dir.string()); }).find("none named \"default\""),
            std::string::npos);
  write("tokenizer_config.json", R"({"chat_template": 3})");
  EXPECT_NE(error_of<tl::ValueError>([&] { ChatTemplate::from_model_dir(dir.string()); }).find("got integer"),
            std::string::npos);
  write("tokenizer_config.json", R"({"chat_template": )");
  EXPECT_NE(error_of<tl::ParseError>([&] { ChatTemplate::from_model_dir(dir.string()); }).find("tokenizer_config.json"),
            std::string::npos);
}

TEST_F(ChatTemplateDir, JinjaFileWinsAsInTransformers) {
  write("tokenizer_config.json", R"({"chat_template": "from config"})");
  write("chat_template.jinja", "from file\n");
  EXPECT_EQ(ChatTemplate::from_model_dir(dir.string())->render(kConv, false), "from file");
  write("chat_template.jinja", "{% if %}");
  std::string msg = error_of<tl::ParseError>([&] { ChatTemplate::from_model_dir(dir.string()); });
  EXPECT_NE(msg.find("chat_template.jinja:1:7: expected an expression"), std::string::npos) << msg;
}

}  // namespace
