// config.json typed reader, on a config written by transformers.LlamaConfig (4.57.1) and on bad inputs.
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "tl/io/hf_config.h"

namespace tl::test {
namespace {

using io::HfConfig;

TEST(HfConfig, ReadsTransformersConfig) {
  HfConfig c = HfConfig::load(io_fixture("config_llama.json"));
  EXPECT_EQ(c.get_string("model_type"), "llama");
  EXPECT_EQ(c.get_string_array("architectures"), std::vector<std::string>{"LlamaForCausalLM"});
  EXPECT_EQ(c.get_positive_int("hidden_size"), 576);
  EXPECT_EQ(c.get_positive_int("num_attention_heads"), 9);
  EXPECT_EQ(c.get_int("num_key_value_heads"), 3);
  EXPECT_EQ(c.get_positive_int("vocab_size"), 49152);
  EXPECT_EQ(c.get_double("rms_norm_eps"), 1e-5);
  EXPECT_EQ(c.get_double("rope_theta"), 100000.0);
  EXPECT_TRUE(c.get_bool("tie_word_embeddings"));
  EXPECT_EQ(c.get_int_or_int_array("eos_token_id"), std::vector<int64_t>{2});
  EXPECT_FALSE(c.has("pad_token_id"));  // null in the file counts as absent
  EXPECT_EQ(c.get_int("pad_token_id", -1), -1);
  EXPECT_FALSE(c.opt_int("pad_token_id").has_value());
  EXPECT_EQ(c.get_int("head_dim", 0), 64);
  EXPECT_EQ(c.get_positive_int("sliding_window", 4096), 4096);
  HfConfig rs = c.get_object("rope_scaling");
  EXPECT_EQ(rs.get_string("rope_type"), "linear");
  EXPECT_EQ(rs.get_double("factor"), 2.0);
  EXPECT_FALSE(c.opt_object("absent").has_value());
  // A directory holding config.json.
  TempDir tmp;
  tmp.write("config.json", read_bytes(io_fixture("config_llama.json")));
  EXPECT_EQ(HfConfig::load(tmp.dir.string()).get_int("num_hidden_layers"), 30);
}

TEST(HfConfig, ErrorsNameFileFieldExpectedActual) {
  HfConfig c = HfConfig::parse(
      R"({"n": 0, "m": -3, "s": "x", "d": 2.0, "a": [1, "b"], "o": {"k": true}, "z": null, "e": [2, 3]})", "m/config.json");
  expect_error<ValueError>([&] { c.get_positive_int("n"); }, {"m/config.json", "\"n\"", "expected a positive integer", "got integer 0"});
  expect_error<ValueError>([&] { c.get_positive_int("m", 4); }, {"\"m\"", "positive integer", "got integer -3"});
  expect_error<ValueError>([&] { c.get_int("s"); }, {"\"s\"", "expected an integer", "got string \"x\""});
  expect_error<ValueError>([&] { c.get_int("d"); }, {"\"d\"", "expected an integer", "got number 2.0"});
  expect_error<ValueError>([&] { c.get_int("missing"); }, {"m/config.json", "\"missing\"", "required field is missing"});
  expect_error<ValueError>([&] { c.get_int_array("a"); }, {"\"a\"", "expected an array of integers"});
  expect_error<ValueError>([&] { c.get_object("o").get_int("k"); }, {"\"o.k\"", "expected an integer", "got bool true"});
  expect_error<ValueError>([&] { c.get_bool("s"); }, {"\"s\"", "expected a bool"});
  expect_error<ValueError>([&] { c.get_int("z"); }, {"\"z\"", "got null"});  // required: null is not a value
  EXPECT_EQ(c.get_int_or_int_array("e"), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(c.get_double("n"), 0.0);
  expect_error<ParseError>([] { HfConfig::parse("{\"a\": }", "bad.json"); }, {"bad.json", "1:"});
  expect_error<ValueError>([] { HfConfig::parse("[1]", "arr.json"); }, {"arr.json", "expected a JSON object", "got array"});
  expect_error<IoError>([] { HfConfig::load("/nonexistent/config.json"); }, {"/nonexistent/config.json"});
}

}  // namespace
}  // namespace tl::test
