// Hostile and random attributes for the window / resize ops: every call either succeeds or
// throws edgekit::Error with a one-line message, never crashes (run under ASan to check
// memory safety too).
#include "nn_test_util.h"

namespace edgekit::test {
namespace {

TEST(NNRobustness, RandomAttributesNeverCrash) {
  std::mt19937 rng(123);
  auto r = [&](int lo, int hi) { return int64_t(std::uniform_int_distribution<int>(lo, hi)(rng)); };
  auto ints = [&](size_t n, int lo, int hi) {
    Shape v;
    for (size_t i = 0; i < n; ++i) v.push_back(r(lo, hi));
    return v;
  };
  const char* ops[] = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "Pad", "Resize"};
  const char* auto_pads[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  int ok = 0, errors = 0;
  for (int trial = 0; trial < 600; ++trial) {
    const std::string op = ops[trial % 7];
    const size_t rank = size_t(r(1, 3));
    // Occasionally a wrong attribute length.
    const size_t alen = r(0, 9) == 0 ? rank + 1 : rank;
    Shape xs{r(0, 2), r(1, 4)};
    for (size_t i = 0; i < rank; ++i) xs.push_back(r(0, 6));
    Tensor x = random_tensor(xs, rng);
    Node n = make_node(op, 1);
    std::vector<Tensor> inputs{x};
    if (op == "Conv" || op == "ConvTranspose" || op == "MaxPool" || op == "AveragePool" || op == "LpPool") {
      if (op != "Conv" && op != "ConvTranspose") set_ints(n, "kernel_shape", ints(alen, 0, 4));
      if (r(0, 1)) set_ints(n, "strides", ints(alen, 0, 3));
      if (r(0, 1)) set_ints(n, "dilations", ints(alen, 0, 3));
      if (r(0, 1)) set_ints(n, "pads", ints(2 * alen, -1, 3));
      if (r(0, 2) == 0) set_string(n, "auto_pad", auto_pads[r(0, 3)]);
      if (r(0, 1)) set_int(n, "ceil_mode", 1);
      if (op == "Conv" || op == "ConvTranspose") {
        n = make_node(op, 2);
        n.attrs = make_node(op, 1).attrs;
        const int64_t group = r(0, 3);
        set_int(n, "group", group);
        Shape ws = op == "Conv" ? Shape{r(0, 4), r(1, 4)} : Shape{xs[1], r(1, 3)};
        for (size_t i = 0; i < rank; ++i) ws.push_back(r(0, 3));
        if (r(0, 9) == 0) ws.pop_back();
        inputs.push_back(random_tensor(ws, rng));
        if (op == "ConvTranspose" && r(0, 2) == 0) set_ints(n, "output_padding", ints(alen, 0, 2));
        if (op == "ConvTranspose" && r(0, 3) == 0) set_ints(n, "output_shape", ints(alen, 0, 12));
      }
    } else if (op == "Pad") {
      n = make_node(op, 3);
      set_string(n, "mode", std::vector<std::string>{"constant", "reflect", "edge", "wrap"}[r(0, 3)]);
      inputs.push_back(Tensor::from<int64_t>(ints(2 * (rank + 2), -3, 4), {int64_t(2 * (rank + 2))}));
      inputs.push_back(Tensor::scalar<float>(1.5f));
    } else {
      n = make_node(op, 4);
      set_string(n, "mode", std::vector<std::string>{"nearest", "linear", "cubic"}[r(0, 2)]);
      set_string(n, "coordinate_transformation_mode",
                 std::vector<std::string>{"half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel",
                                          "tf_crop_and_resize", "half_pixel_symmetric"}[r(0, 5)]);
      if (r(0, 1)) set_int(n, "antialias", 1);
      if (r(0, 1)) set_int(n, "exclude_outside", 1);
      const int64_t nd = int64_t(xs.size());
      inputs.push_back(Tensor::from<float>(std::vector<float>(size_t(2 * nd), 0.5f), {2 * nd}));
      if (r(0, 1)) {
        std::vector<float> s;
        for (int64_t i = 0; i < nd; ++i) s.push_back(float(r(0, 8)) / 3.f);
        inputs.push_back(Tensor::from<float>(s, {nd}));
        n.inputs[3] = "";
      } else {
        inputs.push_back(Tensor());
        n.inputs[2] = "";
        inputs.push_back(Tensor::from<int64_t>(ints(size_t(nd), 0, 9), {nd}));
      }
    }
    try {
      run_node(n, inputs);
      ++ok;
    } catch (const Error& e) {
      ++errors;
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("test_" + op), std::string::npos) << e.what();
    }
  }
  // Huge attribute values and scales are rejected before any size arithmetic can overflow.
  {
    Node n = make_node("ConvTranspose", 2);
    set_ints(n, "strides", {int64_t(1) << 62});
    try {
      run_node(n, {Tensor(DType::f32, {1, 1, 3}), Tensor(DType::f32, {1, 1, 2})});
      ADD_FAILURE() << "huge stride accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("'strides' holds"), std::string::npos) << e.what();
    }
    Node r = make_node("Resize", 3);
    r.inputs[1] = "";
    try {
      run_node(r, {Tensor(DType::f32, {1, 4}), Tensor(), Tensor::from<float>({1, 1e30f}, {2})});
      ADD_FAILURE() << "huge scale accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("gives an output dim"), std::string::npos) << e.what();
    }
  }
  // Both outcomes must occur, or the generator is not exercising anything.
  EXPECT_GT(ok, 50);
  EXPECT_GT(errors, 50);
}

}  // namespace
}  // namespace edgekit::test
