// Shared machinery of the ONNX recurrent ops RNN, GRU and LSTM (opsets 7..22, checked 11..18),
// and of GRU and LSTM with int8 weights, com.edgekit:DynamicQGRU / DynamicQLSTM.
//
// The three ops differ only in their cell: how one time step turns x_t·Wᵀ and the previous
// state into the next state. Everything else is common and lives here:
//   - attributes: direction, hidden_size, activations (+ activation_alpha/beta), clip, layout;
//   - shape and dtype checks of X, W, R, B, sequence_lens, initial_h, initial_c, P, and the
//     output shapes Y, Y_h, Y_c (infer);
//   - the recurrence driver (run): it converts the inputs to layout 0 in the compute type
//     (float for f32/f16, double for f64), precomputes x_t·Wᵀ + Wb for every step, walks each
//     direction over each batch row's own sequence length (a reverse pass starts at that row's
//     last valid step), calls the op's cell once per (step, row), and writes Y (zero past a
//     row's length), Y_h and Y_c in the requested layout and dtype.
//
// An op file then holds only its cell, e.g.
//   rnn::run(ctx, spec_, [&](const auto& s) { gru_cell(s, linear_before_reset_); });
//
// The int8-weight ops (passes/fuse_dynamic_recurrent.cpp makes them from DequantizeLinear ->
// GRU/LSTM, as `edgekit quantize --mode dynamic` writes) take the float op's inputs with W and
// R int8 (symmetric), followed by W_scale and R_scale (f32, one per tensor, or one per row of
// G*H shared by the directions, the DequantizeLinear's axis 1). They run the same driver and
// cells in float, except the two products: X (all steps at once) and, each step, the state
// vector the cell multiplies by R are quantized to uint8 on the fly (kernels/dynamic_qgemm.h)
// and multiplied on the int8 GEMM micro-kernel. f32 only.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <type_traits>
#include <string>
#include <vector>

#include "kernels/dynamic_qgemm.h"
#include "kernels/nhwc_conv.h"
#include "kernels/op.h"

namespace edgekit::rnn {

enum class ActKind : uint8_t {
  sigmoid, tanh, relu, affine, leaky_relu, thresholded_relu, scaled_tanh, hard_sigmoid, elu, softsign, softplus
};

struct Activation {
  ActKind kind = ActKind::sigmoid;
  float alpha = 0.f, beta = 0.f;
};

// x[i] = act(x[i]) for i < n. One switch per call, not per element.
template <class C>
void apply_activation(const Activation& act, C* x, int64_t n);

// Attributes common to the three ops, read once in the op's constructor.
struct RnnSpec {
  int gates = 1;                     // 1 (RNN), 3 (GRU), 4 (LSTM)
  bool lstm = false;                 // takes initial_c and P, produces Y_c
  int64_t hidden_size = 0;           // attribute value; 0 when absent (then taken from R)
  int num_directions = 1;
  bool reverse = false;              // direction == "reverse"
  int64_t layout = 0;                // 0: [seq, batch, ...]; 1: [batch, seq, ...] (opset 14)
  bool has_clip = false;
  float clip = 0.f;                  // gate pre-activations are clamped to [-clip, clip]
  size_t acts_per_direction = 1;
  std::vector<Activation> activations;  // acts_per_direction * num_directions

  bool int8_weights = false;         // DynamicQGRU / DynamicQLSTM: W, R int8 + W_scale, R_scale

  size_t float_inputs() const { return lstm ? 8 : 6; }  // the standard op's inputs
  size_t max_inputs() const { return float_inputs() + (int8_weights ? 2 : 0); }
  size_t w_scale_input() const { return float_inputs(); }  // R_scale follows
  size_t max_outputs() const { return lstm ? 3 : 2; }
};

// Reads and checks the common attributes. `default_activations` is one direction's list
// (e.g. {"Sigmoid", "Tanh"} for GRU); its length is the number of activations per direction.
// A node of the com.edgekit domain is the int8-weight form (int8_weights).
RnnSpec parse_spec(const Node& node, int gates, bool lstm,
                   const std::vector<std::string>& default_activations);

// Checks every input's dtype and shape against X, W and R and sets Y, Y_h (and Y_c).
void infer(InferContext& ctx, const RnnSpec& spec);

// Weights packed once (prepare) for the micro-kernels: W per direction, and R per direction cut
// into the row blocks the op's cell multiplies apart (in units of H: LSTM {0, 4}, GRU {0, 2, 3}:
// z and r together, then h). f32 (igemm; W with the input bias Wb folded in) or, for the
// int8-weight ops, int8 (dynamic_qgemm; Wb added after).
struct PackedWeights {
  std::vector<NhwcConvWeights> w;               // f32: per direction
  std::vector<std::vector<NhwcConvWeights>> r;  // f32: per direction, per block
  std::vector<DynamicQWeights> qw;              // int8: per direction
  std::vector<std::vector<DynamicQWeights>> qr; // int8: per direction, per block
  bool int8 = false;
  std::vector<int64_t> block_starts;            // in units of H, one more than blocks
};
// Packs when W, R (and B, when given) are constants (f32, or int8 with constant scales for
// spec.int8_weights); null otherwise.
std::shared_ptr<const PackedWeights> pack_weights(const PrepareContext& ctx, const RnnSpec& spec,
                                                  std::vector<int64_t> block_starts);
// The int8 weights packed from W [D, G*H, I], R [D, G*H, H] (int8) and their scales (checked:
// finite, positive, 1 or G*H of them); errors name the node.
std::shared_ptr<const PackedWeights> pack_int8_weights(const Node& node, const RnnSpec& spec, const Tensor& w,
                                                       const Tensor& w_scale, const Tensor& r, const Tensor& r_scale,
                                                       std::vector<int64_t> block_starts);

// The int8-weight ops' last quantized state vector: a GRU with linear_before_reset multiplies
// the same h by both R blocks, so the second recur() reuses the bytes when v's values are the
// ones quantized last (compared, so no cell has to promise anything).
struct QuantizedVector {
  std::vector<float> of;     // [H] the values last quantized
  std::vector<uint8_t> q;    // [k_padded]
  DynamicQuantized params;
  bool valid = false;
};

// One time step of one batch row in one direction, handed to an op's cell.
template <class C>
struct Step {
  const C* xw;               // [gates*H]: x_t·Wᵀ + Wb
  const C* r;                // [gates*H, H] recurrence weights of this direction
  const C* rb;               // [gates*H] recurrence bias
  const C* p;                // [3*H] peepholes i, o, f (LSTM; zeros when absent)
  const Activation* act;     // this direction's activations (f, g, h)
  const RnnSpec* spec;
  int64_t hidden;            // H
  C* h;                      // [H] previous hidden state in, next one out
  C* c;                      // [H] cell state in and out (LSTM), else null
  C* scratch;                // [2*gates*H] free for the cell
  const std::vector<NhwcConvWeights>* packed_r = nullptr;  // this direction's R blocks, when packed
  const std::vector<int64_t>* block_starts = nullptr;
  const std::vector<DynamicQWeights>* qr = nullptr;  // this direction's int8 R blocks (int8-weight ops)
  QuantizedVector* qv = nullptr;                    // int8: v quantized, kept for the next recur
  const Node* node = nullptr;                       // for errors

  // out = init + (rows of R block `block`) · v; init may alias out. With int8 R, v is
  // quantized on the fly (per call, one scale for its H values).
  void recur(size_t block, const C* v, const C* init, C* out) const;

  // x[i] = act_k(clip(x[i])): clip bounds the inputs of the gate activations.
  void activate(size_t k, C* x, int64_t n) const {
    if (spec->has_clip) {
      const C b = C(spec->clip);
      for (int64_t i = 0; i < n; ++i) x[i] = x[i] < -b ? -b : (x[i] > b ? b : x[i]);
    }
    apply_activation(act[k], x, n);
  }
};

// out[i] = init[i] + Σ_j m[i*cols + j] · v[j] for i < rows (init may alias out).
// Eight partial sums per row let the compiler vectorise the dot product without
// reassociating one floating-point sum.
template <class C>
inline void matvec(const C* m, const C* v, const C* init, int64_t rows, int64_t cols, C* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const C* row = m + i * cols;
    C part[8] = {};
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8)
      for (int l = 0; l < 8; ++l) part[l] += row[j + l] * v[j + l];
    C acc = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; j < cols; ++j) acc += row[j] * v[j];
    out[i] = init[i] + acc;
  }
}

// Step::recur with int8 R blocks.
void recur_int8(const Step<float>& s, size_t block, const float* v, const float* init, float* out);

template <class C>
void Step<C>::recur(size_t block, const C* v, const C* init, C* out) const {
  if constexpr (std::is_same_v<C, float>) {
    if (qr) return recur_int8(*this, block, v, init, out);
    if (packed_r) return packed_gemv_f32((*packed_r)[block], v, init, out);
  }
  const int64_t row0 = block_starts ? (*block_starts)[block] * hidden : 0;
  const int64_t rows = block_starts ? ((*block_starts)[block + 1] - (*block_starts)[block]) * hidden : 0;
  matvec(r + row0 * hidden, v, init, rows, hidden, out);
}

template <class C>
using CellFn = std::function<void(const Step<C>&)>;

void run_typed(RunContext& ctx, const RnnSpec& spec, const CellFn<float>& f32, const CellFn<double>& f64,
               const PackedWeights* packed, const std::vector<int64_t>& block_starts);

// Runs the recurrence with `cell`, a generic callable taking a Step<float> or Step<double>.
// `block_starts` are the R row blocks the cell passes to Step::recur (as in PackedWeights).
template <class Cell>
void run(RunContext& ctx, const RnnSpec& spec, const Cell& cell, const PackedWeights* packed,
         const std::vector<int64_t>& block_starts) {
  run_typed(ctx, spec, CellFn<float>(cell), CellFn<double>(cell), packed, block_starts);
}

}  // namespace edgekit::rnn
