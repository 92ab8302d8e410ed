// oneDNN backends: dnnl_sgemm, and the matmul primitive with a per-shape primitive cache.
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <tuple>

#include "gemm/gemm_internal.h"
#include "tl/error.h"

namespace tl::gemm_detail {

namespace {

void check_dnnl(dnnl_status_t st, const char* what) {
  if (st != dnnl_success) TL_THROW(InternalError, "[gemm] oneDNN ", what, " failed with status ", int(st));
}

// dnnl_sgemm and primitives take their thread count from OpenMP's ICV of the calling thread (1 inside a
// parallel region). Make it match tl::num_threads() without disturbing callers already in a parallel region.
void set_omp_threads(int threads) {
  if (!omp_in_parallel() && omp_get_max_threads() != threads) omp_set_num_threads(threads);
}

}  // namespace

void onednn_sgemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  const float* b, int64_t ldb, float beta, float* c, int64_t ldc, int threads) {
  set_omp_threads(threads);
  check_dnnl(dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc), "dnnl_sgemm");
}

namespace {

dnnl_engine_t engine() {
  static dnnl_engine_t e = [] {
    dnnl_engine_t eng = nullptr;
    check_dnnl(dnnl_engine_create(&eng, dnnl_cpu, 0), "engine_create");
    return eng;
  }();
  return e;
}

// Streams are not shared between threads; one per thread, created on first use (leaked at exit on purpose:
// destroying it from a thread_local destructor after oneDNN's own statics may already be gone is unsafe).
dnnl_stream_t stream() {
  thread_local dnnl_stream_t s = [] {
    dnnl_stream_t st = nullptr;
    check_dnnl(dnnl_stream_create(&st, engine(), dnnl_stream_default_flags), "stream_create");
    return st;
  }();
  return s;
}

using Key = std::tuple<int64_t, bool, bool, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, uint32_t, uint32_t, int>;

struct Entry {
  // Shared so that clearing the cache never frees a primitive another thread is running.
  // nullptr: oneDNN offers only its reference implementation for this layout.
  std::shared_ptr<dnnl_primitive> prim;
  dnnl_memory_desc_t a_md{}, b_md{}, c_md{};
};

std::mutex g_mu;
std::map<Key, Entry> g_cache;
constexpr size_t kMaxCache = 256;  // shapes in a model are few; a runaway caller just restarts the cache

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// A plain [batch,] rows x cols descriptor; `rs`/`cs` are the row/column strides, `bs` the batch stride.
dnnl_memory_desc_t make_md(int64_t batch, int64_t bs, int64_t rows, int64_t cols, int64_t rs, int64_t cs,
                           bool batched) {
  dnnl_memory_desc_t md;
  if (batched) {
    dnnl_dims_t dims = {batch, rows, cols};
    dnnl_dims_t strides = {batch == 1 ? rows * cols : bs, rs, cs};
    check_dnnl(dnnl_memory_desc_init_by_strides(&md, 3, dims, dnnl_f32, strides), "memory_desc_init");
  } else {
    dnnl_dims_t dims = {rows, cols};
    dnnl_dims_t strides = {rs, cs};
    check_dnnl(dnnl_memory_desc_init_by_strides(&md, 2, dims, dnnl_f32, strides), "memory_desc_init");
  }
  return md;
}

Entry create(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, int64_t lda, int64_t sa,
             int64_t ldb, int64_t sb, float beta, int64_t ldc, int64_t sc) {
  bool batched = batch > 1;
  Entry e;
  // A zero stride becomes a batch dimension of 1, which oneDNN broadcasts.
  e.a_md = make_md(sa == 0 ? 1 : batch, sa, m, k, ta ? 1 : lda, ta ? lda : 1, batched);
  e.b_md = make_md(sb == 0 ? 1 : batch, sb, k, n, tb ? 1 : ldb, tb ? ldb : 1, batched);
  e.c_md = make_md(batch, sc, m, n, ldc, 1, batched);
  dnnl_matmul_desc_t desc;
  check_dnnl(dnnl_matmul_desc_init(&desc, &e.a_md, &e.b_md, nullptr, &e.c_md), "matmul_desc_init");
  dnnl_primitive_attr_t attr;
  check_dnnl(dnnl_primitive_attr_create(&attr), "attr_create");
  if (alpha != 1.0f) check_dnnl(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha), "set_output_scales");
  dnnl_post_ops_t po = nullptr;
  if (beta != 0.0f) {  // beta == 0: no sum post-op, so C is never read
    check_dnnl(dnnl_post_ops_create(&po), "post_ops_create");
    check_dnnl(dnnl_post_ops_append_sum(po, beta), "append_sum");
    check_dnnl(dnnl_primitive_attr_set_post_ops(attr, po), "set_post_ops");
  }
  dnnl_primitive_desc_t pd = nullptr;
  dnnl_status_t st = dnnl_primitive_desc_create(&pd, &desc, attr, engine(), nullptr);
  if (po) dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
  check_dnnl(st, "matmul primitive_desc_create");
  const char* impl = nullptr;
  check_dnnl(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl), "query impl");
  // The reference implementation is a scalar loop, far slower than dnnl_sgemm: let the caller fall back.
  if (impl && std::strncmp(impl, "ref", 3) != 0) {
    dnnl_primitive_t p = nullptr;
    st = dnnl_primitive_create(&p, pd);
    if (st == dnnl_success) e.prim.reset(p, [](dnnl_primitive_t q) { dnnl_primitive_destroy(q); });
  }
  dnnl_primitive_desc_destroy(pd);
  check_dnnl(st, "primitive_create");
  return e;
}

}  // namespace

int64_t onednn_matmul_cache_size() {
  std::lock_guard<std::mutex> lock(g_mu);
  return int64_t(g_cache.size());
}

bool onednn_matmul(int64_t batch, bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float* a,
                   int64_t lda, int64_t sa, const float* b, int64_t ldb, int64_t sb, float beta, float* c,
                   int64_t ldc, int64_t sc, bool cache, int threads) {
  set_omp_threads(threads);
  if (batch == 1) sa = sb = sc = 0;
  Entry e;
  if (cache) {
    Key key{batch, ta, tb, m, n, k, lda, sa, ldb, sb, ldc, sc, bits(alpha), bits(beta), omp_get_max_threads()};
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_cache.find(key);
    if (it == g_cache.end()) {
      if (g_cache.size() >= kMaxCache) g_cache.clear();
      it = g_cache.emplace(key, create(batch, ta, tb, m, n, k, alpha, lda, sa, ldb, sb, beta, ldc, sc)).first;
    }
    e = it->second;  // primitives are immutable and may run concurrently
  } else {
    e = create(batch, ta, tb, m, n, k, alpha, lda, sa, ldb, sb, beta, ldc, sc);
  }
  if (!e.prim) return false;
  dnnl_memory_t ma = nullptr, mb = nullptr, mc = nullptr;
  check_dnnl(dnnl_memory_create(&ma, &e.a_md, engine(), const_cast<float*>(a)), "memory_create");
  check_dnnl(dnnl_memory_create(&mb, &e.b_md, engine(), const_cast<float*>(b)), "memory_create");
  check_dnnl(dnnl_memory_create(&mc, &e.c_md, engine(), c), "memory_create");
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, ma}, {DNNL_ARG_WEIGHTS, mb}, {DNNL_ARG_DST, mc}};
  dnnl_status_t st = dnnl_primitive_execute(e.prim.get(), stream(), 3, args);
  if (st == dnnl_success) st = dnnl_stream_wait(stream());
  dnnl_memory_destroy(ma);
  dnnl_memory_destroy(mb);
  dnnl_memory_destroy(mc);
  check_dnnl(st, "matmul execute");
  return true;
}

}  // namespace tl::gemm_detail
