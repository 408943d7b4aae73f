// compile_graph: what `edgekit compile` does to a loaded model, for any caller (the CLI's
// compile and quantize --format ekm). The passes of `opt_level` run once; a run on zeros of the
// declared input shapes (dynamic dims as 1) makes the memory plan and proves every kernel can
// be created and run. The result is ready for write_ekm; metadata is the caller's to fill.
#pragma once
#include "ekm/ekm.h"

namespace edgekit {

EkmModel compile_graph(Graph graph, int opt_level, const std::string& where);

}  // namespace edgekit
