// fuse_qdq: QDQ patterns (DequantizeLinear -> float op -> QuantizeLinear, as ONNX Runtime's
// quantizer and `edgekit quantize` write them) become edgekit's int8 ops:
//   DQ(x), DQ(w int8), [DQ(b int32)] -> Conv [-> Relu] -> Q    QLinearConvNhwc between Transposes
//   DQ(x), DQ(w), [DQ(b)] -> Gemm (transA 0, alpha = beta = 1) / MatMul (2-D constant B) -> Q
//                                                             QFullyConnected (W as [N, K]);
//     without the Q (w symmetric), QFullyConnected with a float output
//   DQ(a), DQ(b) -> Add / Mul -> Q                            QAdd / QMul (Transposes of both sides sunk)
//   DQ(x) -> AveragePool / GlobalAveragePool -> Q             Q*PoolNhwc between Transposes
//   DQ(x) -> Sigmoid / Tanh / HardSwish / ... -> Q            QLookup (its input's Transpose sunk)
//   DQ(x) -> MaxPool (2-D) -> Q, same parameters             MaxPoolNhwc on the int8 values, between Transposes
//   DQ(x) -> MaxPool / Flatten / Reshape / Transpose / Slice -> Q: the op on the int8 values,
//     then, where Q's parameters differ from DQ's, a QLookup that requantizes (Q(DQ(v)) of
//     every byte: the unfused graph's bytes exactly); MaxPool (not 2-D) with equal ones only
//   DQ(x) -> Relu -> Q                                       Relu on the int8 values when the
//     parameters are equal and the zero point 0 (max(x, 0) is then the same), else a QLookup
//   DQ(a), DQ(b), ... -> Concat -> Q                         Concat on the int8 values, each
//     input whose parameters differ from Q's requantized first by a QLookup
//   QMul(x, QLookup(x)), the lookup read by nothing else      one QLookup, its table the two ops'
//     composition (SiLU x * Sigmoid(x), HardSwish x * HardSigmoid(x) after the rules above)
// Activations must be quantized per tensor; weights may be per channel (axis 0 of OIHW, or of
// Gemm's [N, K]). The Transposes around NHWC ops cancel between neighbours (merge_transposes).
// The elementwise int8 ops (QAdd, QMul, QLookup) run where their inputs are: when every input
// leaves an NHWC op through a Transpose of one perm, the op reads the Transposes' inputs and
// one Transpose follows it instead (sunk). So a SiLU or HardSwish x * Sigmoid(x) and a
// squeeze-excitation gate x * HardSigmoid(s) between int8 convolutions stay in NHWC, and the
// Transpose after them cancels against the next convolution's.
// The composed table is the two int8 kernels run on all 256 values of x (QLookup, then QMul
// with x), so the fused graph gives the unfused one's bytes exactly.
// Runs before constant folding, which would otherwise fold the weights' DequantizeLinear.
#include <algorithm>
#include <set>

#include "kernels/op.h"

#include "passes/pass_manager.h"

namespace edgekit {
namespace {

struct Dq {  // a DequantizeLinear node's operands
  std::string q, scale, zero_point;
  int64_t axis = 1;
  size_t node = 0;
};

class FuseQdq final : public GraphPass {
 public:
  const char* name() const override { return "fuse_qdq"; }
  std::vector<std::string> op_types() const override { return {"QuantizeLinear", "QMul"}; }

  // One sweep in O(N log N): the uses and names are built once and kept current; a fusion marks
  // its nodes dead and appends its replacements (visited later in the same sweep), noting
  // the node they stand in for; the order is rebuilt and checked once at the end.
  bool apply(Graph& g) override {
    GraphUses uses(g);
    FreshNames names(g);
    names_ = &names;
    uses_ = &uses;
    const size_t original = g.nodes.size();
    dead_.assign(original, false);
    before_.assign(original, {});
    bool changed = false;
    for (size_t i = 0; i < g.nodes.size(); ++i)  // grows as fusions append
      if (!dead_[i] && try_fuse(g, uses, i)) changed = true;
    if (changed) {
      std::vector<Node> order;
      order.reserve(g.nodes.size());
      for (size_t i = 0; i < original; ++i) emit(g, i, order);
      g.nodes = std::move(order);
      g.topo_sort();  // the order is topological already (replacements stand where their op stood)
      g.opsets[kEdgekitDomain] = 1;
    }
    names_ = nullptr, uses_ = nullptr;
    return changed;
  }

 private:
  FreshNames* names_ = nullptr;  // this sweep's
  GraphUses* uses_ = nullptr;
  std::vector<bool> dead_;                   // per node index of this sweep
  std::vector<std::vector<size_t>> before_;  // per node: the replacements standing before it

  // Node i, preceded by its replacements (and theirs), into `order`; dead nodes left out.
  void emit(Graph& g, size_t i, std::vector<Node>& order) {
    for (size_t r : before_[i]) emit(g, r, order);
    if (!dead_[i]) order.push_back(std::move(g.nodes[i]));
  }

  static bool per_tensor(const Graph& g, const std::string& scale) {
    const Tensor* t = constant_value(g, scale);
    return t && t->numel() == 1;
  }

  static bool zero_constant(const Graph& g, const std::string& v) {
    const Tensor* t = constant_value(g, v);
    if (!t || (t->dtype() != DType::i8 && t->dtype() != DType::u8)) return false;
    const auto* b = static_cast<const uint8_t*>(t->raw());
    return std::all_of(b, b + t->numel(), [](uint8_t x) { return x == 0; });
  }

  std::optional<Dq> dq_of(const Graph& g, const GraphUses& u, const std::string& v, bool allow_axis = false) const {
    auto p = u.producer_is(g, v, "DequantizeLinear");
    if (!p) return std::nullopt;
    const Node& n = g.nodes[*p];
    if (n.inputs.size() < 3 || !constant_value(g, n.inputs[1]) || !constant_value(g, n.inputs[2])) return std::nullopt;
    if (!allow_axis && !per_tensor(g, n.inputs[1])) return std::nullopt;
    return Dq{n.inputs[0], n.inputs[1], n.inputs[2], n.attr_int("axis", 1), *p};
  }

  // The QuantizeLinear reading v alone (per tensor, constant params).
  std::optional<size_t> q_of(const Graph& g, const GraphUses& u, const std::string& v) const {
    auto r = u.sole_reader_is(g, v, "QuantizeLinear");
    if (!r || u.is_graph_output(v)) return std::nullopt;
    const Node& n = g.nodes[*r];
    if (n.inputs.size() < 3 || !per_tensor(g, n.inputs[1]) || !constant_value(g, n.inputs[2])) return std::nullopt;
    const DType t = constant_value(g, n.inputs[2])->dtype();
    if (t != DType::i8 && t != DType::u8) return std::nullopt;
    return r;
  }

  static bool same_params(const Graph& g, const Dq& a, const Node& q) {
    return constant_value(g, a.scale)->as_double(0) == constant_value(g, q.inputs[1])->as_double(0) &&
           constant_value(g, a.zero_point)->as_int(0) == constant_value(g, q.inputs[2])->as_int(0) &&
           constant_value(g, a.zero_point)->dtype() == constant_value(g, q.inputs[2])->dtype();
  }

  Node make(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, const std::string& name,
            bool edgekit) const {
    Node n;
    n.op_type = op, n.inputs = std::move(in), n.outputs = std::move(out), n.name = names_->fresh(name);
    if (edgekit) n.domain = kEdgekitDomain, n.opset = 1;
    else n.opset = 13;
    return n;
  }
  Node transpose(const std::string& x, const std::string& y, std::vector<int64_t> perm) const {
    Node t = make("Transpose", {x}, {y}, y + "/Transpose", false);
    t.attrs["perm"] = std::move(perm);
    return t;
  }

  // Sinking Transposes through an elementwise op: when every value in `vs` is written by a
  // Transpose and all have one perm, the Transposes' inputs and that perm.
  struct Transposed {
    std::vector<std::string> inputs;
    std::vector<int64_t> perm;
  };
  static std::optional<Transposed> transposed_alike(const Graph& g, const GraphUses& u,
                                                    const std::vector<std::string>& vs) {
    Transposed t;
    for (const std::string& v : vs) {
      auto p = u.producer_is(g, v, "Transpose");
      if (!p || !g.nodes[*p].has_attr("perm") || !g.nodes[*p].has_input(0)) return std::nullopt;
      const std::vector<int64_t> perm = g.nodes[*p].attr_ints("perm");
      if (!t.inputs.empty() && perm != t.perm) return std::nullopt;
      t.perm = perm;
      t.inputs.push_back(g.nodes[*p].inputs[0]);
    }
    return t;
  }

  // Replaces the nodes `dead` (a float op and its Q) by the elementwise int8 op `m` whose
  // activation inputs are at `value_inputs` of m: m writes y, or, when those inputs all come
  // through Transposes of one perm, m reads the Transposes' inputs and one Transpose of that
  // perm after m writes y.
  void replace_sinking(Graph& g, const GraphUses& u, const std::vector<size_t>& dead, Node m,
                              const std::vector<size_t>& value_inputs, size_t at) {
    std::vector<std::string> vs;
    for (size_t k : value_inputs) vs.push_back(m.inputs[k]);
    auto t = transposed_alike(g, u, vs);
    if (!t) return replace(g, dead, {std::move(m)}, at);
    for (size_t k = 0; k < value_inputs.size(); ++k) m.inputs[value_inputs[k]] = t->inputs[k];
    const std::string y = m.outputs[0];
    m.outputs[0] = names_->fresh(y + "/inner");
    Node after = transpose(m.outputs[0], y, t->perm);
    replace(g, dead, {std::move(m), std::move(after)}, at);
  }

  // Replaces the nodes `dead` (the float op and its Q, plus an optional activation in between)
  // by `repl`, to stand where node `at` (the float op) stood. Appends to g.nodes, so callers
  // hold no Node references past it.
  void replace(Graph& g, const std::vector<size_t>& dead, std::vector<Node> repl, size_t at) {
    for (size_t d : dead) {
      uses_->remove_node(g, d);
      dead_[d] = true;
    }
    for (Node& r : repl) {
      g.nodes.push_back(std::move(r));
      const size_t k = g.nodes.size() - 1;
      dead_.push_back(false);
      before_.emplace_back();
      before_[at].push_back(k);
      uses_->add_node(g, k);
    }
  }

  // A 2-D MaxPool without Indices and with the default storage order.
  static bool max_pool_2d(const Node& n) {
    return n.outputs.size() == 1 && n.attr_ints("kernel_shape", {}).size() == 2 && n.attr_int("storage_order", 0) == 0;
  }

  bool try_fuse(Graph& g, const GraphUses& u, size_t i) {
    const Node& n = g.nodes[i];
    if (n.domain == kEdgekitDomain && n.op_type == "QMul") return fuse_lookup_mul(g, u, i);
    if (!n.domain.empty() || n.outputs.empty()) return false;
    const std::string& op = n.op_type;
    if (op == "Conv" || op == "Gemm" || op == "MatMul") return fuse_weighted(g, u, i);
    if (op == "Add" || op == "Mul") return fuse_binary(g, u, i, op == "Add" ? "QAdd" : "QMul");
    static const std::set<std::string> pools = {"AveragePool", "GlobalAveragePool"};
    static const std::set<std::string> lookups = {"Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu", "Elu"};
    static const std::set<std::string> moves = {"MaxPool", "Flatten", "Reshape", "Transpose", "Slice"};
    if (op == "Concat") return fuse_concat(g, u, i);
    if (!pools.count(op) && !lookups.count(op) && !moves.count(op) && op != "Relu") return false;
    if (n.outputs.size() != 1) return false;
    auto x = dq_of(g, u, n.inputs[0]);
    auto q = x ? q_of(g, u, n.outputs[0]) : std::nullopt;
    if (!q) return false;
    const Node& qn = g.nodes[*q];
    const std::string y = qn.outputs[0];
    const bool same = same_params(g, *x, qn);
    if (op == "Relu" && same && constant_value(g, x->zero_point)->as_int(0) == 0) {
      Node m = n;
      m.inputs[0] = x->q, m.outputs[0] = y;
      replace(g, {i, *q}, {m}, i);
      return true;
    }
    if (op == "MaxPool" && same_params(g, *x, qn) && max_pool_2d(n)) {  // in NHWC, on the int8 values
      const std::string t_in = names_->fresh(x->q + "/nhwc"), t_out = names_->fresh(y + "/nhwc");
      Node p = make("MaxPoolNhwc", {t_in}, {t_out}, n.name + "/int8", true);
      for (const char* a : {"kernel_shape", "strides", "pads", "auto_pad", "dilations", "ceil_mode"})
        if (n.has_attr(a)) p.attrs[a] = n.attrs.at(a);
      replace(g, {i, *q}, {transpose(x->q, t_in, {0, 2, 3, 1}), p, transpose(t_out, y, {0, 3, 1, 2})}, i);
      return true;
    }
    if (moves.count(op)) {
      if (op == "MaxPool" && !same) return false;
      Node m = n;
      m.inputs[0] = x->q, m.outputs[0] = same ? y : names_->fresh(y + "/moved");
      if (same) return replace(g, {i, *q}, {m}, i), true;
      Node r = requantize(*x, m.outputs[0], qn, y, n.name);
      replace(g, {i, *q}, {m, r}, i);
      return true;
    }
    if (lookups.count(op) || op == "Relu") {
      Node m = make("QLookup", {x->q, x->scale, x->zero_point, qn.inputs[1], qn.inputs[2]}, {y}, n.name + "/int8", true);
      for (const auto& [k, v] : n.attrs) m.attrs[k] = v;
      m.attrs["function"] = op;
      replace_sinking(g, u, {i, *q}, std::move(m), {0}, i);
      return true;
    }
    // pools, in NHWC
    if (op == "AveragePool" && (n.attr_int("ceil_mode", 0) || n.has_attr("dilations"))) return false;
    const std::string t_in = names_->fresh(x->q + "/nhwc"), t_out = names_->fresh(y + "/nhwc");
    Node p = make(op == "AveragePool" ? "QAveragePoolNhwc" : "QGlobalAveragePoolNhwc",
                  {t_in, x->scale, x->zero_point, qn.inputs[1], qn.inputs[2]}, {t_out}, n.name + "/int8", true);
    for (const char* a : {"kernel_shape", "strides", "pads", "auto_pad", "count_include_pad"})
      if (n.has_attr(a)) p.attrs[a] = n.attrs.at(a);
    replace(g, {i, *q}, {transpose(x->q, t_in, {0, 2, 3, 1}), p, transpose(t_out, y, {0, 3, 1, 2})}, i);
    return true;
  }

  // QLookup from int8 v (with x's quantization) to y (with Q node qn's): the requantization
  // Q(DQ(v)), one table lookup a byte.
  Node requantize(const Dq& x, const std::string& v, const Node& qn, const std::string& y, const std::string& base) const {
    Node r = make("QLookup", {v, x.scale, x.zero_point, qn.inputs[1], qn.inputs[2]}, {y}, base + "/requantize", true);
    r.attrs["function"] = std::string("Identity");
    return r;
  }

  // DQ(a), DQ(b), ... -> Concat -> Q: Concat on the int8 values, the inputs quantized unlike
  // the output requantized to its parameters first (ONNX Runtime's and edgekit's quantizers
  // calibrate each input of a Concat on its own).
  bool fuse_concat(Graph& g, const GraphUses& u, size_t i) {
    const Node& n = g.nodes[i];
    if (n.outputs.size() != 1 || n.inputs.empty()) return false;
    std::vector<Dq> xs;
    for (const std::string& v : n.inputs) {
      auto x = dq_of(g, u, v);
      if (!x) return false;
      xs.push_back(*x);
    }
    auto q = q_of(g, u, n.outputs[0]);
    if (!q) return false;
    const Node& qn = g.nodes[*q];
    Node c = n;
    c.outputs[0] = qn.outputs[0];
    std::vector<Node> repl;
    for (size_t k = 0; k < xs.size(); ++k) {
      if (same_params(g, xs[k], qn)) {
        c.inputs[k] = xs[k].q;
        continue;
      }
      c.inputs[k] = names_->fresh(xs[k].q + "/requantized");
      repl.push_back(requantize(xs[k], xs[k].q, qn, c.inputs[k], n.name + "/" + std::to_string(k)));
    }
    repl.push_back(std::move(c));
    replace(g, {i, *q}, std::move(repl), i);
    return true;
  }

  bool fuse_weighted(Graph& g, const GraphUses& u, size_t i) {
    const Node& n = g.nodes[i];
    if (n.inputs.size() < 2) return false;
    auto x = dq_of(g, u, n.inputs[0]);
    auto w = x ? dq_of(g, u, n.inputs[1], true) : std::nullopt;
    if (!w) return false;
    const Tensor* wt = constant_value(g, w->q);
    if (!wt || wt->dtype() != DType::i8 || n.has_attr("_activation") || n.has_attr("_residual")) return false;
    std::optional<Dq> b;
    if (n.has_input(2)) {
      b = dq_of(g, u, n.inputs[2], true);
      if (!b || !constant_value(g, b->q) || constant_value(g, b->q)->dtype() != DType::i32) return false;
    }
    // Optional Relu / Clip between the op and its Q.
    std::string out = n.outputs[0];
    std::optional<size_t> act;
    float act_lo = 0, act_hi = 0;
    bool has_hi = false;
    // A Gemm / MatMul whose output is not quantized (a classifier's logits) keeps it float:
    // QFullyConnected without y_scale dequantizes its sums (weights symmetric, for its kernel).
    const bool quantized = q_of(g, u, out).has_value();
    const bool float_out = !quantized && n.op_type != "Conv" && !u.sole_reader_is(g, out, "Relu") &&
                           !u.sole_reader_is(g, out, "Clip") && zero_constant(g, w->zero_point);
    if (!quantized && !float_out) {
      for (const char* a : {"Relu", "Clip"}) {
        auto r = u.sole_reader_is(g, out, a);
        if (!r || u.is_graph_output(out)) continue;
        const Node& an = g.nodes[*r];
        if (an.op_type == "Clip") {
          auto lo = an.has_input(1) ? scalar_constant(g, an.inputs[1]) : std::nullopt;
          auto hi = an.has_input(2) ? scalar_constant(g, an.inputs[2]) : std::nullopt;
          if (!lo || (an.has_input(2) && !hi)) continue;
          act_lo = float(*lo), act_hi = hi ? float(*hi) : 0.f, has_hi = hi.has_value();
        }
        act = r;
      }
      if (!act) return false;
      out = g.nodes[*act].outputs[0];
    }
    auto q = float_out ? std::nullopt : q_of(g, u, out);
    if (!q && !float_out) return false;
    const std::string y = q ? g.nodes[*q].outputs[0] : out;
    const std::string y_scale = q ? g.nodes[*q].inputs[1] : "", y_zero_point = q ? g.nodes[*q].inputs[2] : "";
    std::vector<size_t> dead = {i};
    if (q) dead.push_back(*q);
    if (act) dead.push_back(*act);
    auto set_act = [&](Node& m) {
      if (!act) return;
      m.attrs["activation_min"] = act_lo;
      if (has_hi) m.attrs["activation_max"] = act_hi;
    };
    const std::string bias = b ? b->q : "";
    if (n.op_type == "Conv") {
      if (wt->rank() != 4 || (w->axis != 0 && !per_tensor(g, w->scale))) return false;
      const std::string t_in = names_->fresh(x->q + "/nhwc"), t_out = names_->fresh(y + "/nhwc");
      Node c = make("QLinearConvNhwc",
                    {t_in, x->scale, x->zero_point, w->q, w->scale, w->zero_point, y_scale, y_zero_point, bias},
                    {t_out}, n.name + "/int8", true);
      if (bias.empty()) c.inputs.pop_back();
      for (const char* a : {"kernel_shape", "strides", "pads", "dilations", "group", "auto_pad"})
        if (n.has_attr(a)) c.attrs[a] = n.attrs.at(a);
      set_act(c);
      replace(g, dead, {transpose(x->q, t_in, {0, 2, 3, 1}), c, transpose(t_out, y, {0, 3, 1, 2})}, i);
      return true;
    }
    // Gemm / MatMul: weights as [N, K].
    if (wt->rank() != 2) return false;
    const bool nk = n.op_type == "Gemm" && n.attr_int("transB", 0);
    if (n.op_type == "Gemm" && (n.attr_int("transA", 0) || n.attr_float("alpha", 1.f) != 1.f || n.attr_float("beta", 1.f) != 1.f))
      return false;
    const int64_t channel_axis = nk ? 0 : 1;
    if (!per_tensor(g, w->scale) && w->axis != channel_axis) return false;
    std::string wq = w->q;
    if (!nk) {
      const int64_t K = wt->dim(0), N = wt->dim(1);
      Tensor t(DType::i8, {N, K});
      for (int64_t k = 0; k < K; ++k)
        for (int64_t c = 0; c < N; ++c) t.data<int8_t>()[c * K + k] = wt->data<int8_t>()[k * N + c];
      wq = names_->fresh(w->q + "/nk");
      g.initializers[wq] = std::move(t);
    }
    if (n.op_type == "Gemm" && b && constant_value(g, b->q)->rank() != 1) return false;
    Node fc = make("QFullyConnected",
                   {x->q, x->scale, x->zero_point, wq, w->scale, w->zero_point, y_scale, y_zero_point, bias}, {y},
                   n.name + "/int8", true);
    if (bias.empty()) fc.inputs.pop_back();
    set_act(fc);
    replace(g, dead, {fc}, i);
    return true;
  }

  // Whether inputs [from, to) of n are all constant scalars (per-tensor quantization params).
  static bool constant_params(const Graph& g, const Node& n, size_t from, size_t to) {
    for (size_t k = from; k < to; ++k)
      if (!n.has_input(k) || !per_tensor(g, n.inputs[k])) return false;
    return true;
  }

  // QMul(x, s) or QMul(s, x) with s = QLookup(x) read by this QMul alone -> QLookup(x) whose
  // table is both ops run on every byte of x.
  bool fuse_lookup_mul(Graph& g, const GraphUses& u, size_t i) {
    const Node& mul = g.nodes[i];
    if (mul.inputs.size() != 8 || mul.outputs.size() != 1 || !constant_params(g, mul, 1, 3) ||
        !constant_params(g, mul, 4, 8))
      return false;
    for (size_t side : {size_t(0), size_t(3)}) {  // the input QLookup writes
      const std::string& s = mul.inputs[side];
      auto p = u.producer.find(s);
      if (p == u.producer.end() || u.use_count(s) != 1) continue;
      const Node& look = g.nodes[p->second];
      if (look.op_type != "QLookup" || look.domain != kEdgekitDomain || look.inputs.size() < 5 ||
          look.inputs[0] != mul.inputs[3 - side] || !constant_params(g, look, 1, 5))
        continue;
      if (look.has_input(5) && !constant_value(g, look.inputs[5])) continue;
      auto table = composed_table(g, look, mul, side);
      if (!table) continue;
      const std::string t = names_->fresh(mul.outputs[0] + "/table");
      g.initializers[t] = *table;
      Node m = make("QLookup", {look.inputs[0], look.inputs[1], look.inputs[2], mul.inputs[6], mul.inputs[7], t},
                    {mul.outputs[0]}, mul.name + "/lookup", true);
      replace(g, {p->second, i}, {std::move(m)}, i);
      return true;
    }
    return false;
  }

  // The bytes QMul(x, QLookup(x)) gives for x = each of the 256 values, by running both
  // kernels; nullopt when either refuses its parameters (then the ops stay, and say so at run).
  static std::optional<Tensor> composed_table(const Graph& g, const Node& look, const Node& mul, size_t side) {
    const DType xt = constant_value(g, look.inputs[2])->dtype();
    if (xt != DType::i8 && xt != DType::u8) return std::nullopt;
    Tensor x(xt, {256});
    for (int b = 0; b < 256; ++b) static_cast<uint8_t*>(x.raw())[b] = uint8_t(b);
    try {
      std::vector<Tensor> in = constant_inputs(g, look);
      in[0] = x;
      const Tensor s = run_node(look, in).at(0);
      in = constant_inputs(g, mul);
      in[side] = s, in[3 - side] = x;
      Tensor y = run_node(mul, in).at(0);
      if (y.numel() != 256) return std::nullopt;
      return y;
    } catch (const Error&) {
      return std::nullopt;
    }
  }

  // DQ(a), DQ(b) -> Add / Mul -> Q as `qop` (QAdd / QMul: the same inputs).
  bool fuse_binary(Graph& g, const GraphUses& u, size_t i, const char* qop) {
    const Node& n = g.nodes[i];
    if (n.inputs.size() != 2) return false;
    auto a = dq_of(g, u, n.inputs[0]);
    auto b = a ? dq_of(g, u, n.inputs[1]) : std::nullopt;
    auto q = b ? q_of(g, u, n.outputs[0]) : std::nullopt;
    if (!q) return false;
    const Node& qn = g.nodes[*q];
    Node m = make(qop, {a->q, a->scale, a->zero_point, b->q, b->scale, b->zero_point, qn.inputs[1], qn.inputs[2]},
                  {qn.outputs[0]}, n.name + "/int8", true);
    replace_sinking(g, u, {i, *q}, std::move(m), {0, 3}, i);
    return true;
  }
};

}  // namespace

std::unique_ptr<GraphPass> make_fuse_qdq() { return std::make_unique<FuseQdq>(); }

}  // namespace edgekit
