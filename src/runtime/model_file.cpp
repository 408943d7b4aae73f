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

namespace {
// keep_packed: an .ekm's packed weights stay packed (for a Session), else come back plain.
ModelFile read_or_import(const std::string& path, bool keep_packed, ThreadPool* pool, bool verify_hash) {
  char head[sizeof kEkmMagic] = {};
  {  // POSIX, not an ifstream: constructing one (locale, buffer) was a few % of a small model's load
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EK_CHECK(fd >= 0, path, ": cannot open model file (missing or unreadable)");
    ssize_t got = ::read(fd, head, sizeof head);
    ::close(fd);
    EK_CHECK(got >= 0, path, ": cannot read model file (", std::strerror(errno), ")");
  }
  if (has_ekm_magic(head, sizeof head)) return {read_ekm(path, {.verify_hash = verify_hash, .keep_packed = keep_packed, .pool = pool}), true};
  ModelImporter importer = registered_importer.load();
  EK_CHECK(importer, path, ": not an .ekm file; this runtime (libedgekit_rt) reads only compiled models: "
                           "make one with `edgekit compile MODEL -o MODEL.ekm`");
  ModelFile file;
  file.model.graph = importer(path);
  return file;
}
}  // namespace

ModelFile open_model_file(const std::string& path, ThreadPool* pool, bool verify_hash) {
  return read_or_import(path, true, pool, verify_hash);
}

Graph load_model_file(const std::string& path) { return read_or_import(path, false, nullptr, true).model.graph; }

}  // namespace edgekit
