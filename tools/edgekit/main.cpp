// edgekit: the command-line tool. Subcommands live one a file (cmd_<name>.cpp) and are
// registered here. Every failure ends as one line on stderr, "edgekit: error: <message>",
// with exit code 1, or 2 for a usage error (unknown option, missing argument).
#include <iostream>
#include <new>

#include "common.h"
#include "core/error.h"

namespace {

// Errors may carry newlines (e.g. from a library); the contract is one line.
std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\n' || c == '\r') c = ' ';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

int report(const std::string& message, int code) {
  std::cerr << "edgekit: error: " << one_line(message) << std::endl;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"edgekit: inspect, run, benchmark, quantize, compare and compile ONNX, TFLite and .ekm models on the CPU", "edgekit"};
  app.set_version_flag("--version", std::string("edgekit ") + EDGEKIT_VERSION);
  app.require_subcommand(1);
  app.footer("Run 'edgekit COMMAND --help' for a command's options.");
  edgekit::cli::add_inspect_command(app);
  edgekit::cli::add_run_command(app);
  edgekit::cli::add_bench_command(app);
  edgekit::cli::add_quantize_command(app);
  edgekit::cli::add_compile_command(app);
  edgekit::cli::add_compare_command(app);
  edgekit::cli::add_ops_command(app);

  if (argc == 1) {  // bare `edgekit`: show what it can do
    std::cout << app.help();
    return 2;
  }
  // CLI11 reports a mistyped command as "A subcommand is required"; say what was wrong instead.
  if (argv[1][0] != '-') {
    std::string names;
    bool known = false;
    for (const CLI::App* sub : app.get_subcommands({})) {
      known |= sub->get_name() == argv[1];
      names += (names.empty() ? "" : ", ") + sub->get_name();
    }
    if (!known) return report(edgekit::cat("unknown command '", argv[1], "' (commands: ", names, ")"), 2);
  }
  try {
    app.parse(argc, argv);
    return 0;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string hint;
    for (const CLI::App* sub : app.get_subcommands())
      hint = edgekit::cat(" (see 'edgekit ", sub->get_name(), " --help')");
    if (hint.empty()) hint = " (see 'edgekit --help')";
    return report(e.what() + hint, 2);
  } catch (const edgekit::Error& e) {
    return report(e.what(), 1);
  } catch (const std::bad_alloc&) {
    return report("out of memory", 1);
  } catch (const std::exception& e) {
    return report(edgekit::cat("internal error: ", e.what()), 1);
  } catch (...) {
    return report("internal error: unknown exception", 1);
  }
}
