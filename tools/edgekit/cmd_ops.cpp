// edgekit ops MODEL... [-o FILE]: the ops the models run once optimised, one a line: the config
// of a selective build of the device runtime (cmake -DEDGEKIT_RT_OPS=FILE, README "Selective
// build"), which then compiles only the kernels those models need.
#include <fstream>
#include <iostream>
#include <set>

#include "common.h"
#include "formats/model_loader.h"
#include "kernels/op.h"
#include "runtime/session.h"

namespace edgekit::cli {

namespace {

struct OpsOptions {
  std::vector<std::string> models;
  std::string output;
  int opt_level = 3;
  bool json = false;
  bool supported = false;
};

void list_ops(const OpsOptions& o) {
  if (o.supported) {  // what this build has kernels for (a selective build: its list)
    EK_CHECK(o.models.empty(), "--supported lists this build's ops; it takes no MODEL");
    std::vector<std::string> ops = supported_ops();
    if (o.json) std::cout << nlohmann::ordered_json({{"supported_ops", ops}}).dump() << "\n";
    else
      for (const auto& op : ops) std::cout << op << "\n";
    return;
  }
  EK_CHECK(!o.models.empty(), "no MODEL given (or --supported for this build's ops)");
  EK_CHECK(o.opt_level >= 0 && o.opt_level <= 3, "--opt-level ", o.opt_level, ": expected 0..3");
  std::set<std::string> all;
  nlohmann::ordered_json per_model = nlohmann::ordered_json::object();
  for (const auto& path : o.models) {
    // As the runtime will run it: an .ekm as compiled, other formats through the passes of
    // `edgekit compile` at the same level. Creating the session proves every kernel exists.
    Session session(load_model(path), SessionOptions{.threads = 1, .opt_level = o.opt_level});
    std::set<std::string> ops;
    for (const auto& n : session.graph().nodes) {
      ops.insert(op_key(n.domain, n.op_type));
      // A QLookup builds its table at load by running the op it names (kernels/ops/qlookup.cpp).
      if (n.domain == kEdgekitDomain && n.op_type == "QLookup" && !n.attr_string("function", "").empty())
        ops.insert(n.attr_string("function", ""));
    }
    per_model[path] = ops;
    all.insert(ops.begin(), ops.end());
  }
  if (o.json) {
    nlohmann::ordered_json j = {{"opt_level", o.opt_level}, {"ops", all}, {"models", per_model}};
    std::cout << j.dump() << "\n";
  }
  std::ofstream file;
  if (!o.output.empty()) {
    file.open(o.output);
    EK_CHECK(file.good(), o.output, ": cannot open for writing");
  }
  if (o.output.empty() && o.json) return;
  std::ostream& out = o.output.empty() ? std::cout : file;
  out << "# Ops of a selective edgekit runtime build (cmake -DEDGEKIT_RT_OPS=this file), written by\n"
      << "# edgekit ops at opt level " << o.opt_level << " for:\n";
  for (const auto& path : o.models) out << "#   " << path << "\n";
  for (const auto& op : all) out << op << "\n";
  out.flush();
  EK_CHECK(out.good(), o.output, ": write failed");
  if (!o.output.empty() && !o.json)
    std::cout << "Wrote " << all.size() << " ops of " << o.models.size() << " model(s) to " << o.output << "\n";
}

}  // namespace

void add_ops_command(CLI::App& app) {
  auto o = std::make_shared<OpsOptions>();
  CLI::App* cmd = app.add_subcommand(
      "ops", "List the ops models run once optimised: the config of a selective build of the device runtime");
  cmd->add_option("MODEL", o->models, "Models (.onnx, .tflite or .ekm)");
  cmd->add_option("-o,--output", o->output, "Write the list to this file (cmake -DEDGEKIT_RT_OPS=FILE)");
  add_opt_level_option(cmd, o->opt_level);
  cmd->add_flag("--supported", o->supported, "List every op this build of edgekit has a kernel for");
  cmd->add_flag("--json", o->json, "Print the ops, overall and per model, as JSON");
  cmd->callback([o] { list_ops(*o); });
}

}  // namespace edgekit::cli
