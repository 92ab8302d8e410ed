// The GEMM entry points: argument checks, backend selection (TL_GEMM / set_gemm_backend) and dispatch.
// The default (kAuto) is the measured best on this machine; the numbers are in docs/gemm.md.

#include <atomic>
#include <climits>
#include <cstdlib>

#include "gemm/gemm_internal.h"
#include "tl/error.h"
#include "tl/gemm.h"
#include "tl/threading.h"

namespace tl {

namespace gd = gemm_detail;

// ---- selection ----

namespace {

struct Name {
  const char* name;
  int value;
};
constexpr Name kBackends[] = {{"auto", int(GemmBackend::kAuto)},
                              {"onednn", int(GemmBackend::kOneDnn)},
                              {"onednn_matmul", int(GemmBackend::kOneDnnMatmul)},
                              {"onednn_matmul_nocache", int(GemmBackend::kOneDnnMatmulNoCache)},
                              {"openblas", int(GemmBackend::kOpenBlas)},
                              {"gemv", int(GemmBackend::kGemv)},
                              {"blocked", int(GemmBackend::kBlocked)},
                              {"naive", int(GemmBackend::kNaive)}};
constexpr Name kModes[] = {{"auto", int(BatchMode::kAuto)},
                           {"serial", int(BatchMode::kSerial)},
                           {"parallel", int(BatchMode::kParallel)},
                           {"primitive", int(BatchMode::kPrimitive)}};

template <size_t N>
int parse(const Name (&table)[N], const std::string& s, const char* what) {
  std::string valid;
  for (const Name& n : table) {
    if (s == n.name) return n.value;
    valid += valid.empty() ? "" : ", ";
    valid += n.name;
  }
  TL_THROW(ValueError, "[gemm] unknown ", what, " \"", s, "\": expected one of ", valid);
}

template <size_t N>
std::string name_of(const Name (&table)[N], int v) {
  for (const Name& n : table)
    if (n.value == v) return n.name;
  TL_THROW(ValueError, "[gemm] invalid enum value ", v);
}

std::atomic<int> g_backend{-1};  // -1: not chosen yet, read TL_GEMM on first use
std::atomic<int> g_mode{-1};     // -1: not chosen yet, read TL_GEMM_BATCH on first use

int from_env(const char* var, int (*parse_fn)(const std::string&)) {
  const char* v = std::getenv(var);
  return v && *v ? parse_fn(v) : 0;  // 0 is kAuto in both enums
}

}  // namespace

GemmBackend parse_gemm_backend(const std::string& name) {
  return GemmBackend(parse(kBackends, name, "GEMM backend (TL_GEMM)"));
}
std::string gemm_backend_name(GemmBackend b) { return name_of(kBackends, int(b)); }
BatchMode parse_batch_mode(const std::string& name) {
  return BatchMode(parse(kModes, name, "batch mode (TL_GEMM_BATCH)"));
}
std::string batch_mode_name(BatchMode m) { return name_of(kModes, int(m)); }

void set_gemm_backend(GemmBackend b) { g_backend = int(b); }
GemmBackend get_gemm_backend() {
  int v = g_backend.load();
  if (v < 0) {
    v = from_env("TL_GEMM", [](const std::string& s) { return int(parse_gemm_backend(s)); });
    g_backend = v;
  }
  return GemmBackend(v);
}
void set_batch_mode(BatchMode m) { g_mode = int(m); }
BatchMode get_batch_mode() {
  int v = g_mode.load();
  if (v < 0) {
    v = from_env("TL_GEMM_BATCH", [](const std::string& s) { return int(parse_batch_mode(s)); });
    g_mode = v;
  }
  return BatchMode(v);
}

std::string gemm_backend() {
  GemmBackend b = get_gemm_backend();
  if (b == GemmBackend::kAuto) return "blocked+gemv";  // blocked kernel; AVX2 GEMV for m == 1 / n == 1
  return gemm_backend_name(b);
}

// ---- checks ----

namespace {

void check_dims(const char* fn, int64_t m, int64_t n, int64_t k) {
  if (m < 0 || n < 0 || k < 0)
    TL_THROW(ValueError, "[", fn, "] sizes must be >= 0: expected m, n, k >= 0, got m = ", m, ", n = ", n,
             ", k = ", k);
}

// Operand `name` (leading dimension `ld_name`) is stored as rows x cols (op(X) = X^T when trans) and needs
// ld >= max(1, cols), and a pointer unless it is empty or no product is computed (`needed` false).
void check_operand(const char* fn, const char* name, const char* ld_name, const void* p, bool trans, int64_t rows,
                   int64_t cols, int64_t ld, bool needed) {
  const int64_t need = cols > 1 ? cols : 1;
  if (ld < need)
    TL_THROW(ValueError, "[", fn, "] ", ld_name, " = ", ld, " is too small for ", name, " stored as [", rows, ", ",
             cols, "]", trans ? " (transposed)" : "", ": expected ", ld_name, " >= ", need);
  if (!p && needed && rows > 0 && cols > 0)
    TL_THROW(ValueError, "[", fn, "] ", name, " is null but holds [", rows, ", ", cols, "] elements");
}

void check_all(const char* fn, bool ta, bool tb, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
               const float* b, int64_t ldb, const float* c, int64_t ldc, bool needed = true) {
  check_dims(fn, m, n, k);
  check_operand(fn, "A", "lda", a, ta, ta ? k : m, ta ? m : k, lda, needed);
  check_operand(fn, "B", "ldb", b, tb, tb ? n : k, tb ? k : n, ldb, needed);
  check_operand(fn, "C", "ldc", c, false, m, n, ldc, needed);
}

bool fits_int(int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc) {
  for (int64_t v : {m, n, k, lda, ldb, ldc})
    if (v > INT_MAX) return false;
  return true;
}

// C = beta * C, for k == 0 or alpha == 0 (BLAS semantics: op(A) op(B) is not evaluated).
void scale_c(int64_t m, int64_t n, float beta, float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
}

// One product with m, n, k >= 1 and alpha != 0 on the chosen backend, using `threads` threads.
void run_one(GemmBackend be, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
             int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  switch (be) {
    case GemmBackend::kNaive:
      sgemm_naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
      return;
    case GemmBackend::kOpenBlas:
      if (fits_int(m, n, k, lda, ldb, ldc)) {
        gd::openblas_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
        return;
      }
      break;  // 32-bit BLAS interface: larger sizes go to oneDNN
    case GemmBackend::kOneDnnMatmul:
    case GemmBackend::kOneDnnMatmulNoCache:
      if (gd::onednn_matmul(1, ta, tb, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0,
                            be == GemmBackend::kOneDnnMatmul, threads))
        return;
      break;  // only oneDNN's reference implementation fits this layout: use dnnl_sgemm
    case GemmBackend::kBlocked:
      gd::blocked_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
      return;
    case GemmBackend::kAuto:
    case GemmBackend::kGemv:
      if (m == 1) {  // c[0, :] = op(B)^T x with x = op(A)[0, :]
        gd::gemv(n, k, alpha, b, tb ? ldb : 1, tb ? 1 : ldb, a, ta ? lda : 1, beta, c, 1, threads);
        return;
      }
      if (n == 1) {  // c[:, 0] = op(A) x with x = op(B)[:, 0]
        gd::gemv(m, k, alpha, a, ta ? 1 : lda, ta ? lda : 1, b, tb ? 1 : ldb, beta, c, ldc, threads);
        return;
      }
      if (be == GemmBackend::kAuto) {
        gd::blocked_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
        return;
      }
      break;
    case GemmBackend::kOneDnn:
      break;
  }
  gd::onednn_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, threads);
}

}  // namespace

// ---- entry points ----

void sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
           const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  check_all("sgemm", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc);
  run_one(get_gemm_backend(), ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads());
}

void sgemm_epilogue(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                    const float* b, int64_t ldb, float beta, float* c, int64_t ldc, const GemmEpilogue& ep) {
  check_all("sgemm_epilogue", ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
  if (!ep.fn) TL_THROW(ValueError, "[sgemm_epilogue] the epilogue has no function");
  if (m == 0 || n == 0) return;
  const GemmBackend be = get_gemm_backend();
  // The blocked kernel runs the epilogue per block (what kAuto picks for m, n > 1); elsewhere it follows.
  if (k > 0 && alpha != 0.0f && (be == GemmBackend::kBlocked || (be == GemmBackend::kAuto && m > 1 && n > 1))) {
    gd::blocked_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, num_threads(), &ep);
    return;
  }
  sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  ep.fn(ep.ctx, c, ldc, 0, m, 0, n);
}

void sgemm_batched(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t sa, const float* b, int64_t ldb, int64_t sb, float beta, float* c,
                   int64_t ldc, int64_t sc) {
  if (batch < 0) TL_THROW(ValueError, "[sgemm_batched] batch must be >= 0, got ", batch);
  check_all("sgemm_batched", ta, tb, m, n, k, a, lda, b, ldb, c, ldc, batch > 0);
  if (sa < 0 || sb < 0 || sc < 0)
    TL_THROW(ValueError, "[sgemm_batched] strides must be >= 0 (0 broadcasts): got stride_a = ", sa,
             ", stride_b = ", sb, ", stride_c = ", sc);
  if (batch == 0 || m == 0 || n == 0) return;
  // Outputs of different items must not overlap (they are written concurrently). Two disjoint layouts are
  // accepted: items stacked one after another, or side by side within each row (e.g. C as [m, batch, n]).
  const int64_t c_extent = (m - 1) * ldc + n;
  const bool stacked = sc >= c_extent, side_by_side = sc >= n && (batch - 1) * sc + n <= ldc;
  if (batch > 1 && !stacked && !side_by_side)
    TL_THROW(ValueError, "[sgemm_batched] stride_c = ", sc, " makes the ", m, "x", n, " outputs (ldc = ", ldc,
             ") overlap: expected stride_c >= ", c_extent, " (items stacked) or stride_c >= ", n,
             " with (batch - 1) * stride_c + n <= ldc (items side by side in each row)");
  if (k == 0 || alpha == 0.0f) {
    for (int64_t i = 0; i < batch; ++i) scale_c(m, n, beta, c + i * sc, ldc);
    return;
  }
  const GemmBackend be = get_gemm_backend();
  BatchMode mode = get_batch_mode();
  const int nt = num_threads();
  // Auto: one-thread products spread over the threads, when the batch divides evenly or is large enough that
  // the imbalance is small. Per core the three modes tie (docs/gemm.md); with 2 threads the parallel loop has
  // one fork/join per batch instead of several per item, which is what keeps it fast when the cores are shared.
  if (mode == BatchMode::kAuto)
    mode = nt > 1 && batch > 1 && (batch % nt == 0 || batch >= 4 * nt) ? BatchMode::kParallel : BatchMode::kSerial;
  if (be == GemmBackend::kNaive) mode = BatchMode::kSerial;
  if (mode == BatchMode::kPrimitive && batch > 1 &&
      gd::onednn_matmul(batch, ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, true, nt))
    return;
  if (mode == BatchMode::kParallel && nt > 1 && batch > 1) {
    if (be == GemmBackend::kOpenBlas) gd::openblas_set_threads(1);
    parallel_for(batch, 1, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        run_one(be, ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc, 1);
    });
    return;
  }
  for (int64_t i = 0; i < batch; ++i)
    run_one(be, ta, tb, m, n, k, alpha, a + i * sa, lda, b + i * sb, ldb, beta, c + i * sc, ldc, nt);
}

// ---- pre-packed B ----

PackedB sgemm_pack_b(bool tb, int64_t k, int64_t n, const float* b, int64_t ldb) {
  check_dims("sgemm_pack_b", 0, n, k);
  check_operand("sgemm_pack_b", "B", "ldb", b, tb, tb ? n : k, tb ? k : n, ldb, true);
  PackedB p;
  p.k_ = k;
  p.n_ = n;
  p.kc_ = gd::packed_b_kc();
  p.size_ = gd::packed_b_size(k, n);
  const size_t bytes = (size_t(p.size_) * sizeof(float) + 63) / 64 * 64;
  float* d = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (!d) TL_THROW(InternalError, "[sgemm_pack_b] out of memory for ", bytes, " bytes");
  p.data_ = std::shared_ptr<const float>(d, [](const float* q) { std::free(const_cast<float*>(q)); });
  if (k > 0 && n > 0) gd::pack_b_whole(tb, k, n, b, ldb, p.kc_, d);
  return p;
}

void sgemm_packed(bool ta, int64_t m, float alpha, const float* a, int64_t lda, const PackedB& b, float beta,
                  float* c, int64_t ldc) {
  if (b.empty()) TL_THROW(ValueError, "[sgemm_packed] B is an empty PackedB: expected one from sgemm_pack_b");
  const int64_t n = b.n(), k = b.k();
  check_dims("sgemm_packed", m, n, k);
  check_operand("sgemm_packed", "A", "lda", a, ta, ta ? k : m, ta ? m : k, lda, true);
  check_operand("sgemm_packed", "C", "ldc", c, false, m, n, ldc, true);
  if (m == 0 || n == 0) return;
  if (k == 0 || alpha == 0.0f) return scale_c(m, n, beta, c, ldc);
  gd::blocked_sgemm_packed(ta, m, alpha, a, lda, gd::PackedBView{b.data_.get(), k, n, b.kc_}, beta, c, ldc,
                           num_threads());
}

}  // namespace tl
