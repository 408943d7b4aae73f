#include "runtime/compile.h"

#include "runtime/session.h"

namespace edgekit {

EkmModel compile_graph(Graph graph, int opt_level, const std::string& where) {
  EK_CHECK(opt_level >= 0 && opt_level <= 3, where, ": opt level ", opt_level, " is not 0..3");
  EkmModel m;
  Session session(std::move(graph), SessionOptions{.threads = 1, .opt_level = opt_level});
  m.graph = session.graph();
  bool ranks_known = true;
  for (const auto& in : m.graph.inputs) ranks_known &= in.shape_known;
  if (ranks_known) {
    std::map<std::string, Tensor> feeds;
    for (ValueInfo in : m.graph.inputs) {
      for (int64_t& d : in.dims) d = d < 0 ? 1 : d;
      feeds[in.name] = Tensor(in.dtype, in.dims);
      m.memory_plan.inputs.push_back(in);
    }
    try {
      session.run(feeds);
    } catch (const Error& e) {
      fail(where, ": the compiled graph does not run on zero inputs of its declared shapes: ", e.what());
    }
    m.memory_plan.present = true;
    m.memory_plan.arena_bytes = int64_t(session.memory_plan().arena_bytes);
    m.memory_plan.naive_bytes = int64_t(session.memory_plan().naive_bytes);
    for (const auto& t : session.planned_tensors()) m.memory_plan.tensors.push_back({t.name, t.offset, t.bytes});
  }
  // Stored packed, without the plain copy: loading then uses them in place (the file stays
  // about the size it was: panels add only bias and padding columns).
  m.packed = session.packed_initializers();
  if (m.graph.compiled_opt_level < 0) m.graph.compiled_opt_level = opt_level;
  m.opt_level = m.graph.compiled_opt_level;
  return m;
}

}  // namespace edgekit
