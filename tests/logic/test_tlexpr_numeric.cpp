// TLExpr comparisons, arithmetic, aggregates, and the error paths (typed exceptions naming the thing, the
// expected and the actual).
#include <gtest/gtest.h>

#include "tl/error.h"
#include "tl/tlexpr.h"

using namespace tl;
using namespace tl::tlexpr;

namespace {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const tl::Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(TLExprNumeric, IndexComparisons) {
  Var x{"x", 4}, y{"y", 3};
  struct Row {
    CmpOp op;
    bool (*want)(int64_t, int64_t);
  };
  for (Row r : {Row{CmpOp::eq, [](int64_t a, int64_t b) { return a == b; }},
                Row{CmpOp::ne, [](int64_t a, int64_t b) { return a != b; }},
                Row{CmpOp::lt, [](int64_t a, int64_t b) { return a < b; }},
                Row{CmpOp::le, [](int64_t a, int64_t b) { return a <= b; }},
                Row{CmpOp::gt, [](int64_t a, int64_t b) { return a > b; }},
                Row{CmpOp::ge, [](int64_t a, int64_t b) { return a >= b; }}}) {
    Tensor t = evaluate(compare(r.op, x, y), Preset::godel(), {});  // [x, y]
    ASSERT_EQ(t.shape(), (Shape{4, 3}));
    for (int64_t i = 0; i < 4; ++i)
      for (int64_t j = 0; j < 3; ++j) EXPECT_EQ(t.get({i, j}), r.want(i, j) ? 1.0 : 0.0);
  }
  Tensor c = evaluate(compare(CmpOp::lt, x, 2), Preset::boolean(), {});  // [x]
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(c.get({i}), i < 2 ? 1.0 : 0.0);
}

TEST(TLExprNumeric, ArithmeticAndAggregates) {
  Var x{"x", 3}, y{"y", 4};
  Predicate Likes{"Likes", {3, 4}}, Age{"Age", {4}, true};
  Tensor likes = Tensor::zeros({3, 4}), age = Tensor::empty({4});
  for (int64_t j = 0; j < 4; ++j) age.set(std::vector<int64_t>{j}, 10.0 + 5.0 * double(j));  // 10 15 20 25
  likes.set(std::vector<int64_t>{0, 1}, 1.0);
  likes.set(std::vector<int64_t>{0, 3}, 1.0);
  likes.set(std::vector<int64_t>{1, 0}, 0.6);
  likes.set(std::vector<int64_t>{2, 2}, 0.4);
  std::map<std::string, Tensor> in{{"Likes", likes}, {"Age", age}};
  for (const Preset& p : {Preset::boolean(), Preset::godel(), Preset::product(), Preset::lukasiewicz(),
                          Preset::soft(0.5f)}) {
    std::vector<Expr> es = {
        count(y, Likes(x, y)),                                        // [x]
        sum(y, Age(y) * if_then_else(Likes(x, y), number(1), number(0))),
        compare(CmpOp::gt, Age(y), number(12)) && Likes(x, y),        // [y, x]
        count(y, compare(CmpOp::eq, index(x) + index(y), number(3))),  // [x]
        (Age(y) - number(10)) / number(5) + index(y),
        exists(y, Likes(x, y) && compare(CmpOp::ge, sum(x, Likes(x, y)), number(1))),
    };
    for (const Expr& e : es) {
      Tensor got = evaluate(e, p, in), ref = eval_reference(e, p, in);
      ASSERT_EQ(got.shape(), ref.shape()) << e.str();
      Tensor g = got.contiguous(), r = ref.contiguous();
      for (int64_t i = 0; i < g.numel(); ++i)
        EXPECT_NEAR(g.data<float>()[i], r.data<float>()[i], 1e-5) << e.str() << " " << semantics_name(p.kind);
    }
  }
  // Exact counts under boolean: Likes holds 0.6 (true) and 0.4 (false) in rows 1 and 2.
  Tensor n = evaluate(count(y, Likes(x, y)), Preset::boolean(), in);
  EXPECT_EQ(n.get({0}), 2.0);
  EXPECT_EQ(n.get({1}), 1.0);
  EXPECT_EQ(n.get({2}), 0.0);
  Tensor s = evaluate(sum(y, Age(y)), Preset::godel(), in);
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.get({}), 70.0);
}

TEST(TLExprErrors, BuildTimeChecks) {
  Var x{"x", 3}, y{"y", 4}, x4{"x", 4}, bad{"b", 0};
  Predicate P{"P", {3, 4}}, Age{"Age", {4}, true}, B{"B", {4}};
  EXPECT_NE(error_of([&] { P(x); }).find("2 dims"), std::string::npos);
  EXPECT_NE(error_of([&] { P(y, x); }).find("domain size 4"), std::string::npos);
  EXPECT_NE(error_of([&] { P(x, 4); }).find("constant 4"), std::string::npos);
  EXPECT_NE(error_of([&] { P(x, -1); }).find("[0, 4)"), std::string::npos);
  EXPECT_NE(error_of([&] { (void)(P(x, y) && B(x4)); }).find("variable 'x' has domain size 4 here but 3"), std::string::npos);
  EXPECT_NE(error_of([&] { (void)(P(x, y) && Age(y)); }).find("AND operand 1 must be a truth value"),
            std::string::npos);
  EXPECT_NE(error_of([&] { exists(bad, P(x, y)); }).find("domain size 0"), std::string::npos);
  EXPECT_NE(error_of([&] { truth(1.5); }).find("outside [0, 1]"), std::string::npos);
  EXPECT_NE(error_of([&] { weighted(-0.1, P(x, y)); }).find("rule weight"), std::string::npos);
  EXPECT_NE(error_of([&] { if_then_else(P(x, y), Age(y), P(x, y)); }).find("IF branches"), std::string::npos);
  EXPECT_NE(error_of([&] { exists(x4, P(x, y)); }).find("variable 'x'"), std::string::npos);
  EXPECT_NE(error_of([&] { (Predicate{"bad name", {2}})(0); }).find("bad name"), std::string::npos);
  EXPECT_THROW(P(x), ShapeError);
  EXPECT_THROW(truth(2.0), ValueError);
}

TEST(TLExprErrors, InputChecks) {
  Var x{"x", 2};
  Predicate A{"A", {2}};
  Expr e = !A(x);
  for (auto* f : {&evaluate, &eval_reference}) {
    EXPECT_NE(error_of([&] { f(e, Preset::godel(), {}); }).find("missing input for predicate A"), std::string::npos);
    EXPECT_NE(error_of([&] { f(e, Preset::godel(), {{"A", Tensor::zeros({3})}}); }).find("expected [2]"),
              std::string::npos);
    Tensor a = Tensor::zeros({2});
    a.set(std::vector<int64_t>{1}, 1.5);
    std::string msg = error_of([&] { f(e, Preset::godel(), {{"A", a}}); });
    EXPECT_NE(msg.find("predicate A holds 1.5 at flat index 1"), std::string::npos) << msg;
    EXPECT_NE(error_of([&] { f(e, Preset::soft(0.0f), {{"A", Tensor::zeros({2})}}); }).find("temperature"),
              std::string::npos);
  }
  EXPECT_THROW(evaluate(e, Preset::godel(), {{"A", Tensor::zeros({3})}}), ShapeError);
  EXPECT_THROW(compile(e, Preset::soft(-1.0f)), ValueError);
  Predicate Res{"result", {2}};
  EXPECT_NE(error_of([&] { compile(Res(x), Preset::godel()); }).find("reserved"), std::string::npos);
  Predicate Digit{"0", {2}};  // a name like the graph's automatic ones still works
  EXPECT_EQ(evaluate(!Digit(x) && truth(1.0), Preset::godel(), {{"0", Tensor::zeros({2})}}).get({1}), 1.0);
  // Two uses of one predicate name with different shapes.
  Predicate A3{"A", {3}};
  Var z{"z", 3};
  EXPECT_NE(error_of([&] { compile(A(x) && A3(z), Preset::godel()); }).find("predicate A is used as"),
            std::string::npos);
}
