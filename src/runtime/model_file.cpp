#include "runtime/model_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "ekm/ekm.h"

namespace edgekit {

namespace {
std::atomic<ModelImporter> registered_importer{nullptr};
}

void set_model_importer(ModelImporter importer) { registered_importer.store(importer); }

ModelFile open_model_file(const std::string& path) {
  char head[sizeof kEkmMagic] = {};
  {  // POSIX, not an ifstream: constructing one (locale, buffer) was a few % of a small model's load
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EK_CHECK(fd >= 0, path, ": cannot open model file (missing or unreadable)");
    ssize_t got = ::read(fd, head, sizeof head);
    ::close(fd);
    EK_CHECK(got >= 0, path, ": cannot read model file (", std::strerror(errno), ")");
  }
  if (has_ekm_magic(head, sizeof head)) return {read_ekm(path, {.hash_in_background = true}), true};
  ModelImporter importer = registered_importer.load();
  EK_CHECK(importer, path, ": not an .ekm file; this runtime (libedgekit_rt) reads only compiled models: "
                           "make one with `edgekit compile MODEL -o MODEL.ekm`");
  ModelFile file;
  file.model.graph = importer(path);
  return file;
}

Graph load_model_file(const std::string& path) {
  ModelFile file = open_model_file(path);
  if (file.model.pending_hash) file.model.pending_hash->wait();
  return std::move(file.model.graph);
}

}  // namespace edgekit
