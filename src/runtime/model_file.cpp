#include "runtime/model_file.h"

#include <atomic>
#include <fstream>

#include "ekm/ekm.h"

namespace edgekit {

namespace {
std::atomic<ModelImporter> registered_importer{nullptr};
}

void set_model_importer(ModelImporter importer) { registered_importer.store(importer); }

Graph load_model_file(const std::string& path) {
  char head[sizeof kEkmMagic] = {};
  {
    std::ifstream f(path, std::ios::binary);
    EK_CHECK(f.good(), path, ": cannot open model file (missing or unreadable)");
    f.read(head, sizeof head);
  }
  if (has_ekm_magic(head, sizeof head)) return read_ekm(path).graph;
  ModelImporter importer = registered_importer.load();
  EK_CHECK(importer, path, ": not an .ekm file; this runtime (libedgekit_rt) reads only compiled models: "
                           "make one with `edgekit compile MODEL -o MODEL.ekm`");
  return importer(path);
}

}  // namespace edgekit
