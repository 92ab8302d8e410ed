// Mixtral (MixtralForCausalLM): the Mistral decoder (src/models/llama.cpp: RoPE, GQA, optional sliding
// window, RMSNorm) with nn::moe_block (top-k routing, softmax then renormalised top-k weights, SwiGLU
// experts) in place of the MLP.
//
// Weights beyond the shared decoder ones (HF names), E = num_local_experts, f = intermediate_size:
//   model.layers.<i>.block_sparse_moe.gate.weight [E, d]
//   model.layers.<i>.block_sparse_moe.experts.<e>.{w1,w3}.weight [f, d], .w2.weight [d, f]
#include "common.h"
#include "tl/error.h"
#include "tl/nn/moe.h"

namespace tl::models::detail {
namespace {

class Mixtral final : public Model {
 public:
  explicit Mixtral(const io::HfConfig& c) : Model(c), p_(llama_params(c, "mixtral")) {
    moe_.set_d_model(p_.d_model)
        .set_d_ff(p_.d_ff)
        .set_n_experts(c.get_positive_int("num_local_experts"))
        .set_routing(MoeRouting::top_k)
        .set_top_k(c.get_positive_int("num_experts_per_tok"))
        .set_normalize(true)
        .set_act(nn::unary_of(p_.act))
        .set_gated(true);
    if (moe_.p.top_k > moe_.n_experts)
      TL_THROW(ValueError, "[mixtral] ", c.name(), ": \"num_experts_per_tok\" = ", moe_.p.top_k,
               " exceeds \"num_local_experts\" = ", moe_.n_experts);
    moe_.validate();
  }
  std::string family() const override { return "mixtral"; }
  bool can_generate() const override { return true; }
  Graph build_graph(const Batch& b) const override { return build_step_graph(b, -1); }
  bool has_kv_cache() const override { return true; }
  KvSpec kv_spec() const override { return llama_kv_spec(p_); }
  Graph build_step_graph(const Batch& b, int64_t past) const override {
    return llama_graph(
        p_, b,
        [this](Graph& g, Value x, const std::string& l) {
          return nn::moe_block(g, x, l + ".block_sparse_moe", moe_).y;  // [b, s, d]
        },
        past);
  }
  Graph build_decode_graph(int64_t batch, int64_t n, int64_t past, bool last_logits) const override {
    Batch b;
    b.ids = Tensor::zeros({batch, n}, DType::i64);  // only its shape is read
    return llama_graph(
        p_, b,
        [this](Graph& g, Value x, const std::string& l) {
          return nn::moe_block(g, x, l + ".block_sparse_moe", moe_).y;  // [b, s, d]
        },
        past, /*decode=*/true, last_logits);
  }

 protected:
  void check_batch(const Batch& b) const override {
    check_ids(b.ids, p_.vocab, "ids");
    check_llama_batch(p_, b);
  }

 private:
  LlamaParams p_;
  nn::MoeConfig moe_;
};

}  // namespace

std::unique_ptr<Model> make_mixtral(const io::HfConfig& c, const WeightNames&) {
  return std::make_unique<Mixtral>(c);
}

}  // namespace tl::models::detail
