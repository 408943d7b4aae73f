// optimize_graph() of a device runtime built without the graph passes (-DEDGEKIT_RT_OPTIMIZER=OFF,
// a selective build's option): compiled models carry their optimised graph, so only a graph
// built or imported at run time would need one, and that gets this error instead.
#include "passes/pass_manager.h"

namespace edgekit {

std::vector<PassReport> optimize_graph(Graph& graph, int level) {
  EK_CHECK(level == 0, "graph '", graph.name, "': this runtime is built without the graph optimiser "
           "(EDGEKIT_RT_OPTIMIZER=OFF), so opt level ", level, " is not available: compile the model with "
           "`edgekit compile` and load the .ekm, or use opt level 0");
  return {};
}

}  // namespace edgekit
