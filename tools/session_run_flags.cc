// session_run's flags (session_run_flags.h).
#include "tools/session_run_flags.h"

#include <limits>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/status_macros.h"

namespace dflow {
namespace {

constexpr char kUsage[] = R"(Usage: session_run --graph=FILE | --meta_graph=FILE | --saved_model=DIR [--feed=NAME=FILE|VALUE ...] [--fetch=NAME[:i] ...]
                   [--target=OP ...] [--init=OP] [--steps=N] [--batch_size=B] [--shard]
                   [--restore=CKPT] [--save=CKPT] [--output_dir=DIR] [--print]
                   [--profile=TRACE.json] [--tag_set=TAGS] [--signature_def=KEY] [--show]
                   [--memory_limit=BYTES] [--seed=N]
       session_run --graph=FILE|--meta_graph=FILE --list_unsupported [--feed=NAME=... ...] [--fetch=NAME ...]

Loads a GraphDef (binary or text, told apart by content) and runs it in a dflow Session.

  --graph=FILE        the graph (.pb or .pbtxt, as written by dflow or TensorFlow 1.x)
  --meta_graph=FILE   instead: the graph_def of a MetaGraphDef (.meta, binary or text);
                      variables come from --restore (through the graph's own Saver ops when
                      its SaverDef has them, else dflow's restore); --save likewise
  --saved_model=DIR   instead: a SavedModel (DIR/saved_model.pb or .pbtxt): the meta graph
                      tagged --tag_set, its variables restored from DIR/variables/variables
                      and its init op run, as TensorFlow's loader does
  --tag_set=TAGS      the meta graph's tags, comma-separated (default serve, or the tags of
                      the only meta graph when there is one and it is tagged otherwise)
  --signature_def=KEY with --saved_model/--meta_graph: --feed and --fetch names may be this
                      signature's input and output keys (default serving_default, if present);
                      tensor names still work
  --show              print the tag sets and signatures (inputs and outputs with dtypes,
                      shapes and tensor names), as saved_model_cli show --all does
  --feed=NAME=SOURCE  feeds tensor NAME ("x", "x:0"); SOURCE is a file (.npy, or IDX as
                      MNIST ships it; either may be gzipped) or a literal: 0.5, 3, true,
                      [1,2,3], [[1,0],[1,1]], "a string" (string tensors). Repeatable.
                      Data is adapted to the placeholder: uint8 IDX images become float
                      in [0,1] when the placeholder is float; 1-D class labels become one-hot when it is float [?,C], or int32/int64 ids;
                      trailing dims are reshaped ([N,28,28] -> [?,784] or [?,28,28,1]).
  --fetch=NAME[:i]    tensor to fetch and report. Repeatable.
  --target=OP         op to run for its effect (a train step). Repeatable.
  --init=OP           op run once before anything else (skipped with --restore); OP,OP,...
                      runs several; with --meta_graph, @variables runs the initializer of
                      every variable of the `variables` collection (a graph without an
                      `init` op, as tf.global_variables_initializer would build)
  --steps=N           run the targets and fetches N times (default 1), printing progress
  --batch_size=B      with --steps: serve every feed whose first dimension is larger than B
                      in batches of B rows, cycling through it
  --shard             under mpirun, rank r of N is fed rows [r*n/N, (r+1)*n/N) of dimension 0
                      of every feed (with --batch_size: of each global batch); scalars whole.
                      Without mpirun: rank 0 of 1, the whole feed (docs/distributed.md)
  --restore=CKPT      restore all variables and random-op streams from CKPT before running:
                      a checkpoint prefix (CKPT.index + CKPT.data-00000-of-00001, TensorFlow's
                      V2 format, as tf.train.Saver writes), a folder (its newest checkpoint, as
                      named by its 'checkpoint' file) or a checkpoint of older dflow versions
  --save=CKPT         save all variables and random-op streams to the prefix CKPT after the
                      last step, in TensorFlow's V2 format (atomically), and name it in the
                      'checkpoint' file of its folder
  --output_dir=DIR    write each fetch of the last run as DIR/<name>.npy ('/' and ':'
                      become '_'), atomically, only when every run succeeded
  --print             print each fetch in full (up to 100 values) instead of a summary
  --profile=FILE      time every node of every step: print a table of time per op and the
                      slowest nodes (the first step, which builds the plan, is left out of it
                      when there are more) and write all steps as a Chrome trace to FILE
                      (open it in chrome://tracing or ui.perfetto.dev)
  --list_unsupported  run nothing: list the ops of the graph dflow does not support, with
                      how many nodes use each, and which of those nodes the --fetch and
                      --target list needs (a --feed cuts off what is upstream of it; its
                      file is not read); exit 0
  --seed=N            random ops whose seed attrs are 0 (unseeded, as TensorFlow writes them
                      without a graph seed) draw streams fixed by N and their node names, so
                      an unseeded initializer gives the same values in every run
  --memory_limit=BYTES  the most tensor memory a run may hold (suffix K, M or G allowed;
                      default 3/4 of physical memory); a node that would allocate past it
                      fails the run with an error naming it and the bytes
  --help              this message

Example, the MNIST tutorial (graph written by `mnist_softmax --write_graph=mnist_softmax.pb`):
  session_run --graph=mnist_softmax.pb --init=init --target=train/GradientDescent \
      --feed=x=$MNIST_DIR/train-images-idx3-ubyte.gz \
      --feed=y_=$MNIST_DIR/train-labels-idx1-ubyte.gz \
      --steps=1000 --batch_size=100 --fetch=loss --save=mnist.ckpt
  session_run --graph=mnist_softmax.pb --restore=mnist.ckpt --fetch=accuracy \
      --feed=x=$MNIST_DIR/t10k-images-idx3-ubyte.gz \
      --feed=y_=$MNIST_DIR/t10k-labels-idx1-ubyte.gz

Exit status: 0 on success; 1 on any error, with one line naming the file or node.
)";

}  // namespace

const char* SessionRunUsage() { return kUsage; }


namespace {

// "1000", "64K", "512M", "2G" as bytes; false when malformed or not positive.
bool ParseBytes(absl::string_view text, int64_t* bytes) {
  int shift = 0;
  if (!text.empty()) {
    switch (text.back()) {
      case 'K': case 'k': shift = 10; break;
      case 'M': case 'm': shift = 20; break;
      case 'G': case 'g': shift = 30; break;
    }
  }
  if (shift > 0) text.remove_suffix(1);
  int64_t n;
  if (!absl::SimpleAtoi(text, &n) || n <= 0 || n > (std::numeric_limits<int64_t>::max() >> shift)) {
    return false;
  }
  *bytes = n << shift;
  return true;
}

}  // namespace

absl::StatusOr<Options> ParseArgs(int argc, char** argv) {
  Options o;
  bool steps_given = false;
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (!absl::StartsWith(arg, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", arg, "' (see --help)"));
    }
    const size_t eq = arg.find('=');
    const std::string name(arg.substr(2, eq == absl::string_view::npos ? arg.npos : eq - 2));
    const std::string value(eq == absl::string_view::npos ? "" : arg.substr(eq + 1));
    auto need_value = [&]() -> absl::Status {
      if (eq == absl::string_view::npos || value.empty()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      return absl::OkStatus();
    };
    auto to_int = [&](int64_t* out, int64_t min) -> absl::Status {
      DFLOW_RETURN_IF_ERROR(need_value());
      if (!absl::SimpleAtoi(value, out) || *out < min) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " must be an integer >= ", min, ", got '", value, "'"));
      }
      return absl::OkStatus();
    };
    absl::Status s;
    if (name == "print") {
      o.print = true;
    } else if (name == "shard") {
      o.shard = true;
    } else if (name == "list_unsupported") {
      o.list_unsupported = true;
    } else if (name == "show") {
      o.show = true;
    } else if (name == "meta_graph" || name == "saved_model" || name == "tag_set" ||
               name == "signature_def") {
      s = need_value();
      if (name == "meta_graph") o.meta_graph = value;
      if (name == "saved_model") o.saved_model = value;
      if (name == "tag_set") o.tag_set = value;
      if (name == "signature_def") o.signature_def = value;
    } else if (name == "steps") {
      s = to_int(&o.steps, 1);
      steps_given = true;
    } else if (name == "batch_size") {
      s = to_int(&o.batch_size, 1);
    } else if (name == "seed") {
      int64_t seed = 0;
      s = to_int(&seed, 0);
      if (s.ok()) o.seed = static_cast<uint64_t>(seed);
    } else if (name == "memory_limit") {
      s = need_value();
      if (s.ok() && !ParseBytes(value, &o.memory_limit)) {
        s = absl::InvalidArgumentError(absl::StrCat(
            "--memory_limit must be a positive byte count (K, M or G allowed), got '", value, "'"));
      }
    } else if (name == "feed") {
      s = need_value();
      const size_t sep = value.find('=');
      if (s.ok() && (sep == std::string::npos || sep == 0 || sep + 1 == value.size())) {
        s = absl::InvalidArgumentError(absl::StrCat("--feed must be NAME=FILE or NAME=VALUE, got '", value, "'"));
      }
      if (s.ok()) o.feeds.emplace_back(value.substr(0, sep), value.substr(sep + 1));
    } else if (name == "graph" || name == "init" || name == "restore" || name == "save" ||
               name == "output_dir" || name == "fetch" || name == "target" ||
               name == "profile") {
      s = need_value();
      if (name == "graph") o.graph = value;
      if (name == "init") o.init = value;
      if (name == "restore") o.restore = value;
      if (name == "save") o.save = value;
      if (name == "output_dir") o.output_dir = value;
      if (name == "profile") o.profile = value;
      if (name == "fetch") o.fetches.push_back(value);
      if (name == "target") o.targets.push_back(value);
    } else {
      s = absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    DFLOW_RETURN_IF_ERROR(s);
  }
  const int models = !o.graph.empty() + !o.meta_graph.empty() + !o.saved_model.empty();
  if (models != 1) {
    return absl::InvalidArgumentError(
        "give exactly one of --graph, --meta_graph and --saved_model (see --help)");
  }
  if (o.show && !o.graph.empty()) {
    return absl::InvalidArgumentError("--show needs --saved_model or --meta_graph");
  }
  if (o.list_unsupported && o.graph.empty() && o.meta_graph.empty()) {
    return absl::InvalidArgumentError("--list_unsupported needs --graph or --meta_graph");
  }
  if (!o.show && !o.list_unsupported && o.fetches.empty() && o.targets.empty() && o.init.empty() &&
      o.save.empty()) {
    return absl::InvalidArgumentError("nothing to do: give --fetch, --target, --init or --save");
  }
  if (o.batch_size > 0 && !steps_given) {
    return absl::InvalidArgumentError("--batch_size needs --steps");
  }
  return o;
}

// Converts file data to what the placeholder takes (see --help for the rules).

}  // namespace dflow
