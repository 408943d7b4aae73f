// edgekit-rt-minimal MODEL.ekm [RUNS]: the smallest program that runs a compiled model, linked
// against libedgekit_rt.a alone (make size reports its size). Feeds zeros of the declared input
// shapes (dynamic dims taken as 1) and prints each output's shape and first values.
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "runtime/session.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: %s MODEL.ekm [RUNS]\n", argv[0]);
    return 2;
  }
  try {
    edgekit::Session session(argv[1]);
    std::map<std::string, edgekit::Tensor> feeds;
    for (const auto& in : session.inputs()) {
      edgekit::Shape shape = in.dims;
      for (auto& d : shape) d = d < 0 ? 1 : d;
      feeds[in.name] = edgekit::Tensor(in.dtype, shape);
    }
    int runs = argc == 3 ? std::atoi(argv[2]) : 1;
    if (runs < 1) throw edgekit::Error("RUNS must be a positive count");
    std::vector<edgekit::Tensor> outputs;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < runs; ++i) outputs = session.run(feeds);
    double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / runs;
    for (size_t i = 0; i < outputs.size(); ++i) {
      const auto& t = outputs[i];
      std::printf("%s %s %s", session.outputs()[i].name.c_str(), edgekit::dtype_name(t.dtype()),
                  edgekit::shape_str(t.shape()).c_str());
      for (int64_t k = 0; k < std::min<int64_t>(t.numel(), 4); ++k) std::printf(" %g", t.as_double(k));
      std::printf("\n");
    }
    std::printf("%.3f ms per run\n", ms);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgekit-rt-minimal: %s\n", e.what());
    return 1;
  }
  return 0;
}
