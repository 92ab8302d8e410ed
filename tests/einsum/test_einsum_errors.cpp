// Every error class of the einsum engine: the exception type and the words of its message (what, expected,
// actual). Table-driven; each case runs through einsum, einsum_naive and einsum_output_shape.
#include "einsum_test_util.h"

using namespace tl;

namespace {

enum class Kind { parse, shape };

struct ErrorCase {
  std::string spec;
  std::vector<Shape> shapes;
  Kind kind;
  std::vector<std::string> words;  // all must appear in the message
};

const std::vector<ErrorCase> kCases = {
    // rank vs subscript
    {"ij,jk->ik", {{2, 3}, {3, 4, 5}}, Kind::shape, {"[einsum] operand 1 has 3 dims but subscript \"jk\" names 2", "[3, 4, 5]"}},
    {"ij...,jk->ik", {{2}, {3, 4}}, Kind::shape, {"operand 0 has 1 dims", "\"ij...\"", "at least 2"}},
    {"i", {{}}, Kind::shape, {"operand 0 has 0 dims but subscript \"i\" names 1"}},
    // label sizes
    {"ij,jk->ik", {{2, 3}, {4, 5}}, Kind::shape, {"label 'j' is 3 in operand 0 but 4 in operand 1", "[2, 3]", "[4, 5]"}},
    {"ii->i", {{3, 4}}, Kind::shape, {"label 'i' repeats in operand 0", "\"ii\"", "3 vs 4", "[3, 4]"}},
    {"...i,...i->...i", {{2, 3}, {4, 3}}, Kind::shape, {"ellipsis dim 0 is 2 in operand 0 but 4 in operand 1"}},
    {"ij,jk->ik", {{2, 0}, {3, 4}}, Kind::shape, {"label 'j' is 0 in operand 0 but 3 in operand 1"}},
    // output subscript
    {"ij,jk->ix", {{2, 3}, {3, 4}}, Kind::parse, {"output label 'x'", "does not appear in any input"}},
    {"ij,jk->ii", {{2, 3}, {3, 4}}, Kind::parse, {"output subscript \"ii\" repeats label 'i'"}},
    {"...ij->ij", {{5, 2, 3}}, Kind::shape, {"output subscript \"ij\" has no '...'", "covers 1 dims"}},
    {"ij->i,j", {{2, 3}}, Kind::parse, {"output subscript", "contains ','"}},
    // syntax
    {"ij,j#->i", {{2, 3}, {3, 3}}, Kind::parse, {"invalid character '#' at position 4", "\"ij,j#->i\""}},
    {"ij,j1->i", {{2, 3}, {3, 3}}, Kind::parse, {"invalid character '1'"}},
    {"ij->j->i", {{2, 3}}, Kind::parse, {"more than one '->'"}},
    {"i.j->ij", {{2, 3}}, Kind::parse, {"'.' at position 1", "not part of '...'"}},
    {"..i->i", {{2, 3}}, Kind::parse, {"not part of '...'"}},
    {"...i...->i", {{2, 3}}, Kind::parse, {"more than one '...'"}},
    {"ij-i", {{2, 3}}, Kind::parse, {"invalid character '-'"}},
    {"ij>i", {{2, 3}}, Kind::parse, {"invalid character '>'"}},
    // operand count
    {"ij,jk->ik", {{2, 3}}, Kind::shape, {"spec \"ij,jk->ik\" has 2 operand subscripts but 1 operand was given"}},
    {"ij->i", {{2, 3}, {3}}, Kind::shape, {"has 1 operand subscript but 2 operands were given"}},
    {"->", {}, Kind::shape, {"needs at least one operand"}},
};

std::vector<Tensor> make_ops(const std::vector<Shape>& shapes) {
  std::vector<Tensor> ops;
  for (const Shape& s : shapes) ops.push_back(Tensor::zeros(s));
  return ops;
}

template <class F>
void expect_error(F&& f, const ErrorCase& c, const char* entry) {
  SCOPED_TRACE(std::string(entry) + " \"" + c.spec + "\"");
  try {
    f();
    ADD_FAILURE() << "no exception";
  } catch (const ParseError& e) {
    EXPECT_EQ(c.kind, Kind::parse) << "got ParseError: " << e.what();
    for (const auto& w : c.words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what() << "\nmissing: " << w;
  } catch (const ShapeError& e) {
    EXPECT_EQ(c.kind, Kind::shape) << "got ShapeError: " << e.what();
    for (const auto& w : c.words) EXPECT_NE(std::string(e.what()).find(w), std::string::npos) << e.what() << "\nmissing: " << w;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
}

}  // namespace

TEST(EinsumErrors, Table) {
  for (const ErrorCase& c : kCases) {
    expect_error([&] { einsum(c.spec, make_ops(c.shapes)); }, c, "einsum");
    expect_error([&] { einsum_naive(c.spec, make_ops(c.shapes)); }, c, "einsum_naive");
    expect_error([&] { einsum_output_shape(c.spec, c.shapes); }, c, "einsum_output_shape");
    expect_error([&] { einsum_plan(c.spec, c.shapes); }, c, "einsum_plan");
  }
}

TEST(EinsumErrors, AllAreTlErrors) {
  for (const ErrorCase& c : kCases) EXPECT_THROW(einsum(c.spec, make_ops(c.shapes)), tl::Error) << c.spec;
}

TEST(EinsumErrors, TooManyOperands) {
  // 256 operands plan (greedy) and run; 257 are refused by name before any order search.
  for (int n : {256, 257}) {
    std::string spec;
    for (int i = 0; i < n; ++i) spec += std::string(i ? "," : "") + "ab";
    spec += "->a";
    std::vector<Tensor> ops;
    for (int i = 0; i < n; ++i) ops.push_back(Tensor::full({2, 3}, i % 7 == 0 ? 1.0f : 1.001f));
    if (n == 256) {
      Tensor got = einsum(spec, ops);
      double want = 1;  // every operand is constant over b: sum over b of the product = 3 * prod
      for (int i = 0; i < n; ++i) want *= i % 7 == 0 ? 1.0 : 1.001;
      EXPECT_NEAR(got.get({0}), 3 * want, 1e-3 * 3 * want);
    } else {
      try {
        einsum(spec, ops);
        ADD_FAILURE() << "no exception";
      } catch (const ShapeError& e) {
        EXPECT_NE(std::string(e.what()).find("spec has 257 operands; at most 256"), std::string::npos) << e.what();
      }
    }
  }
}

TEST(EinsumErrors, OutputChecks) {
  Tensor a = Tensor::zeros({2, 3}), b = Tensor::zeros({3, 4});
  auto msg = [&](const Tensor& out) {
    try {
      einsum_into("ij,jk->ik", {a, b}, out);
    } catch (const ShapeError& e) {
      return std::string(e.what());
    }
    return std::string("no ShapeError");
  };
  EXPECT_NE(msg(Tensor::zeros({2, 5})).find("out has shape [2, 5] but \"ij,jk->ik\" gives [2, 4]"), std::string::npos);
  EXPECT_NE(msg(Tensor::zeros({2, 4}, DType::i64)).find("out has dtype i64 but \"ij,jk->ik\" gives f32"), std::string::npos);
  EXPECT_NE(msg(Tensor::zeros({4, 2}).transpose(0, 1)).find("must be contiguous"), std::string::npos);
  Tensor ok = Tensor::zeros({2, 4});
  EXPECT_NO_THROW(einsum_into("ij,jk->ik", {a, b}, ok));
}

TEST(EinsumErrors, PlanShapeMismatchAndDtypes) {
  EinsumPlan p = einsum_plan("ij,jk->ik", {{2, 3}, {3, 4}});
  Tensor out = Tensor::zeros({2, 4});
  try {
    einsum_execute(p, {Tensor::zeros({2, 3}), Tensor::zeros({3, 5})}, out);
    ADD_FAILURE() << "no exception";
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("operand 1 has shape [3, 5] but the plan for \"ij,jk->ik\" was made for [3, 4]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(einsum_execute(p, {Tensor::zeros({2, 3})}, out), ShapeError);
  EXPECT_THROW(einsum_output_dtype({}), ValueError);
  EXPECT_THROW(einsum("i", {Tensor()}), tl::Error);  // an undefined operand
}
