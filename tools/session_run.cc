// session_run: loads a graph file and runs it on data from files. See --help and
// docs/session_run.md.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "graph/graph_def_io.h"
#include "graph/status_macros.h"
#include "ops/graph_import.h"
#include "runtime/checkpoint.h"
#include "runtime/profile.h"
#include "runtime/saved_model.h"
#include "runtime/session.h"
#include "tools/feed_shard.h"
#include "tools/session_run_flags.h"
#include "tools/tensor_io.h"
#include "tools/tensor_literal.h"

namespace dflow {
namespace {

absl::StatusOr<Tensor> AdaptFeed(const LoadedTensor& loaded, const Output& target,
                                 const std::string& source) {
  Tensor t = loaded.tensor;
  const DataType want = target.type();
  const PartialTensorShape& want_shape = target.shape();
  auto fail = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("feed '", target.name(), "' from '", source, "': ", why));
  };
  const bool one_hot = want == DT_FLOAT && t.dims() == 1 && want_shape.dims() == 2 &&
                       want_shape.dim_size(1) > 0 &&
                       (t.dtype() == DT_UINT8 || t.dtype() == DT_INT32 || t.dtype() == DT_INT64);
  if (one_hot) {
    const int64_t classes = want_shape.dim_size(1);
    DFLOW_ASSIGN_OR_RETURN(Tensor out,
                           Tensor::Allocate(DT_FLOAT, TensorShape({t.dim_size(0), classes})));
    std::fill(out.flat<float>().begin(), out.flat<float>().end(), 0.f);
    for (int64_t i = 0; i < t.dim_size(0); ++i) {
      int64_t label = 0;
      VisitDataType(t.dtype(), [&](auto zero) { label = static_cast<int64_t>(t.flat<decltype(zero)>()[i]); });
      if (label < 0 || label >= classes) {
        return fail(absl::StrCat("label ", label, " at row ", i, " is outside [0, ", classes, ")"));
      }
      out.flat<float>()[i * classes + label] = 1.f;
    }
    return out;
  }
  if (t.dtype() != want) {
    const bool int_like = t.dtype() == DT_UINT8 || t.dtype() == DT_INT32 || t.dtype() == DT_INT64 ||
                          t.dtype() == DT_BOOL;
    const bool to_float = want == DT_FLOAT || want == DT_DOUBLE;
    if (!int_like && !(to_float && (t.dtype() == DT_FLOAT || t.dtype() == DT_DOUBLE))) {
      return fail(absl::StrCat("cannot convert ", DataTypeString(t.dtype()), " data to ",
                               DataTypeString(want)));
    }
    // IDX images (uint8, rank >= 3) become pixels in [0,1], as the tutorials read them.
    const double scale = loaded.from_idx && t.dtype() == DT_UINT8 && t.dims() >= 3 && to_float ? 1.0 / 255 : 1.0;
    DFLOW_ASSIGN_OR_RETURN(
        t, ConvertValues(t, want, scale,
                         absl::StrCat("feed '", target.name(), "' from '", source, "'")));
  }
  // Reshape the trailing dims when the placeholder fixes them: [N,28,28] -> [N,784].
  if (!want_shape.unknown_rank() && want_shape.dims() >= 1 && t.dims() >= 1 &&
      !want_shape.IsCompatibleWith(t.shape())) {
    // Overflow-checked: -1 when a trailing dim is unknown or they multiply past the limit.
    const int64_t per_row = CheckedNumElements(want_shape.dim_sizes().subspan(1));
    const int64_t rows = t.dim_size(0);
    if (per_row > 0 && rows > 0 && t.NumElements() / rows == per_row &&
        t.NumElements() % rows == 0) {
      TensorShape shape({rows});
      for (int d = 1; d < want_shape.dims(); ++d) shape.AddDim(want_shape.dim_size(d));
      t = *t.Reshaped(shape);
    }
  }
  return t;
}

// Rows [start, start + n) of `t` along dim 0, wrapping around the end.
Tensor Rows(const Tensor& t, int64_t start, int64_t n) {
  TensorShape shape = t.shape();
  const int64_t total = shape.dim_size(0);
  shape.set_dim(0, n);
  Tensor out(t.dtype(), shape);
  const size_t row_bytes = total == 0 ? 0 : t.TotalBytes() / total;
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(static_cast<char*>(out.data()) + i * row_bytes,
                static_cast<const char*>(t.data()) + ((start + i) % total) * row_bytes, row_bytes);
  }
  return out;
}

std::string Summary(const std::string& name, const Tensor& t, bool full) {
  if (t.NumElements() == 1) {
    std::string v = t.DebugString(1);
    return absl::StrCat(name, " = ", v.substr(v.find('{') + 1, v.size() - v.find('{') - 2),
                        " (", DataTypeString(t.dtype()), " ", t.shape().DebugString(), ")");
  }
  return absl::StrCat(name, ": ", t.DebugString(full ? 100 : 6));
}

std::string FileNameFor(std::string name) {
  std::replace(name.begin(), name.end(), '/', '_');
  std::replace(name.begin(), name.end(), ':', '_');
  return name + ".npy";
}

// --list_unsupported: the graph's opaque nodes by op, and those the fetches and targets need.
absl::Status ListUnsupported(const Options& o, const Graph& graph) {
  std::map<std::string, int> by_op;
  for (const Node* n : graph.nodes()) {
    if (n->is_opaque()) ++by_op[UnsupportedWhat(*n)];
  }
  int total = 0;
  for (const auto& [op, count] : by_op) total += count;
  if (by_op.empty()) {
    std::cout << "dflow supports every op of the graph (" << graph.num_nodes() << " nodes)\n";
  } else {
    std::cout << by_op.size() << " op(s) dflow does not support, in " << total << " of "
              << graph.num_nodes() << " nodes:\n";
    size_t width = 0;
    for (const auto& [op, count] : by_op) width = std::max(width, op.size());
    for (const auto& [op, count] : by_op) {
      std::cout << "  " << op << std::string(width - op.size() + 2, ' ') << count
                << (count == 1 ? " node\n" : " nodes\n");
    }
  }
  if (o.fetches.empty() && o.targets.empty()) return absl::OkStatus();
  // A fetch of an opaque node may name an output no consumer uses: only its node matters here.
  auto resolve = [&](const std::string& name, const char* what) -> absl::StatusOr<Output> {
    absl::StatusOr<std::pair<std::string, int>> parsed = ParseInputName(name);
    Node* node = parsed.ok() && parsed->second >= 0 ? graph.FindNode(parsed->first) : nullptr;
    if (node != nullptr && node->is_opaque()) return Output(node, parsed->second);
    absl::StatusOr<Output> out = graph.FindOutput(name);
    if (!out.ok()) return absl::Status(out.status().code(), absl::StrCat(what, ": ", out.status().message()));
    return out;
  };
  std::vector<Output> feeds, fetches;
  std::vector<const Node*> targets;
  for (const auto& feed : o.feeds) {
    DFLOW_ASSIGN_OR_RETURN(Output out, resolve(feed.first, "feed"));
    feeds.push_back(out);
  }
  for (const std::string& name : o.fetches) {
    DFLOW_ASSIGN_OR_RETURN(Output out, resolve(name, "fetch"));
    fetches.push_back(out);
  }
  for (const std::string& name : o.targets) {
    const Node* node = graph.FindNode(name);
    if (node == nullptr) return absl::NotFoundError(absl::StrCat("target: no node named '", name, "' in the graph"));
    targets.push_back(node);
  }
  const std::vector<OpaqueNeed> needed = OpaqueNodesNeededFor(graph, feeds, fetches, targets);
  if (needed.empty()) {
    std::cout << "the fetches and targets need none of them: they can run\n";
    return absl::OkStatus();
  }
  std::cout << "the fetches and targets need " << needed.size() << " of them:\n";
  for (const OpaqueNeed& n : needed) {
    std::cout << "  node '" << n.node->name() << "' (" << UnsupportedWhat(*n.node)
              << "), needed by "
              << n.needed_by;
    if (n.consumer != nullptr) std::cout << " (an input of '" << n.consumer->name() << "')";
    std::cout << "\n";
  }
  return absl::OkStatus();
}

// The session of --graph, --meta_graph or --saved_model, and the meta graph of the latter two.
struct Model {
  std::unique_ptr<Session> session;
  MetaGraphDef meta_graph;
  const SignatureDef* signature = nullptr;  // Whose keys --feed and --fetch may use.
};

absl::Status LoadModel(const Options& o, Model* m) {
  SessionOptions session_options;
  session_options.memory_limit_bytes = o.memory_limit;
  session_options.random_seed = o.seed;
  absl::StatusOr<std::unique_ptr<Session>> created;
  std::string what;
  if (!o.saved_model.empty()) {
    std::vector<std::string> tags = absl::StrSplit(o.tag_set, ',', absl::SkipEmpty());
    if (o.tag_set.empty()) {
      tags = {kSavedModelTagServe};
      SavedModel saved_model;
      DFLOW_RETURN_IF_ERROR(ReadSavedModel(o.saved_model, &saved_model));
      if (saved_model.meta_graphs_size() == 1 && !FindMetaGraph(saved_model, tags).ok()) {
        const auto& only = saved_model.meta_graphs(0).meta_info_def().tags();
        tags.assign(only.begin(), only.end());
        std::cerr << "using the only meta graph, tagged " << absl::StrJoin(tags, ",") << std::endl;
      }
    }
    SavedModelBundle bundle;
    DFLOW_RETURN_IF_ERROR(LoadSavedModel(session_options, o.saved_model, tags, &bundle));
    created = std::move(bundle.session);
    m->meta_graph = std::move(bundle.meta_graph_def);
  } else if (!o.meta_graph.empty()) {
    DFLOW_RETURN_IF_ERROR(LoadMetaGraph(o.meta_graph, &m->meta_graph));
    created = CreateSessionFromMetaGraph(session_options, m->meta_graph);
    what = absl::StrCat("meta graph '", o.meta_graph, "'");
  } else {
    GraphDef def;
    DFLOW_RETURN_IF_ERROR(ReadGraphDefFile(o.graph, &def));
    created = Session::Create(def, session_options);  // `def` is freed on leaving this block.
    what = absl::StrCat("graph '", o.graph, "'");
  }
  if (!created.ok()) {
    return absl::Status(created.status().code(),
                        absl::StrCat(what, ": ", created.status().message()));
  }
  m->session = *std::move(created);
  const std::string key = o.signature_def.empty() ? kDefaultServingSignatureDefKey : o.signature_def;
  auto sig = m->meta_graph.signature_def().find(key);
  if (sig != m->meta_graph.signature_def().end()) {
    m->signature = &sig->second;
  } else if (!o.signature_def.empty()) {
    return absl::NotFoundError(absl::StrCat("no signature_def '", key, "' in the meta graph"));
  }
  return absl::OkStatus();
}

// --show: the tag sets and signatures, without loading the graph.
absl::Status Show(const Options& o) {
  std::vector<const MetaGraphDef*> meta_graphs;
  SavedModel saved_model;
  if (!o.saved_model.empty()) {
    DFLOW_RETURN_IF_ERROR(ReadSavedModel(o.saved_model, &saved_model));
  } else {
    DFLOW_RETURN_IF_ERROR(LoadMetaGraph(o.meta_graph, saved_model.add_meta_graphs()));
  }
  for (const MetaGraphDef& mg : saved_model.meta_graphs()) meta_graphs.push_back(&mg);
  std::cout << DescribeMetaGraphs(meta_graphs);
  return absl::OkStatus();
}

// The initializer_name (field 2) of a serialized VariableDef, read with the wire format: dflow
// has no VariableDef message.
std::string InitializerOf(const std::string& variable_def) {
  using google::protobuf::internal::WireFormatLite;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(variable_def.data()), static_cast<int>(variable_def.size()));
  std::string name;
  while (uint32_t tag = in.ReadTag()) {
    if (tag == WireFormatLite::MakeTag(2, WireFormatLite::WIRETYPE_LENGTH_DELIMITED)) {
      if (!WireFormatLite::ReadString(&in, &name)) return "";
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return "";
    }
  }
  return name;
}

// --init's ops: a comma-separated list; @variables expands to the meta graph's variables'
// initializers.
absl::StatusOr<std::vector<std::string>> InitOps(const std::string& flag,
                                                 const MetaGraphDef& meta_graph) {
  std::vector<std::string> ops;
  for (absl::string_view op : absl::StrSplit(flag, ',', absl::SkipEmpty())) {
    if (op != "@variables") {
      ops.emplace_back(op);
      continue;
    }
    auto c = meta_graph.collection_def().find("variables");
    if (c == meta_graph.collection_def().end() || c->second.bytes_list().value_size() == 0) {
      return absl::NotFoundError("--init=@variables: the meta graph has no `variables` collection");
    }
    for (const std::string& def : c->second.bytes_list().value()) {
      std::string name = InitializerOf(def);
      if (name.empty()) return absl::InvalidArgumentError("--init=@variables: a VariableDef without an initializer_name");
      ops.push_back(std::move(name));
    }
  }
  return ops;
}

// A signature key's tensor, else `name` itself.
std::string TensorNameFor(const Model& m, const std::string& name, bool input) {
  if (m.signature == nullptr) return name;
  absl::StatusOr<std::string> tensor = SignatureTensorName(*m.signature, name, input);
  return tensor.ok() ? *tensor : name;
}

absl::Status Main(const Options& o) {
  if (o.list_unsupported) {
    GraphDef def;
    MetaGraphDef meta_graph;
    if (!o.meta_graph.empty()) {
      DFLOW_RETURN_IF_ERROR(LoadMetaGraph(o.meta_graph, &meta_graph));
      def.Swap(meta_graph.mutable_graph_def());
    } else {
      DFLOW_RETURN_IF_ERROR(ReadGraphDefFile(o.graph, &def));
    }
    const std::string& file = o.meta_graph.empty() ? o.graph : o.meta_graph;
    Graph graph;
    const absl::Status imported = ImportGraphDef(def, &graph);
    if (!imported.ok()) {
      return absl::Status(imported.code(), absl::StrCat(o.meta_graph.empty() ? "graph '" : "meta graph '", file, "': ", imported.message()));
    }
    return ListUnsupported(o, graph);
  }
  if (o.show) {
    DFLOW_RETURN_IF_ERROR(Show(o));
    if (o.fetches.empty() && o.targets.empty() && o.init.empty() && o.save.empty()) {
      return absl::OkStatus();
    }
  }
  const ScopedMemoryLimit memory_limit(o.memory_limit);  // Also for loading feeds.
  Model model;
  DFLOW_RETURN_IF_ERROR(LoadModel(o, &model));
  Session& session = *model.session;
  const Graph& graph = session.graph();
  std::vector<std::string> fetches;
  for (const std::string& f : o.fetches) fetches.push_back(TensorNameFor(model, f, false));

  // Feeds, loaded and adapted up front so that a bad file fails before anything runs.
  std::vector<std::pair<std::string, Tensor>> feeds;
  for (const auto& [key, source] : o.feeds) {
    const std::string name = TensorNameFor(model, key, true);
    absl::StatusOr<Output> target = graph.FindOutput(name);
    if (!target.ok()) return absl::NotFoundError(absl::StrCat("feed: ", target.status().message()));
    absl::StatusOr<Tensor> value;
    if (LooksLikeLiteral(source)) {
      value = ParseLiteral(source, target->type(), name);
    } else {
      DFLOW_ASSIGN_OR_RETURN(const LoadedTensor loaded, ReadTensorFile(source));
      value = AdaptFeed(loaded, *target, source);
    }
    DFLOW_RETURN_IF_ERROR(value.status());
    feeds.emplace_back(name, *std::move(value));
  }
  int64_t rows = -1;  // Rows of the batched feeds.
  std::vector<bool> batched(feeds.size(), false);
  if (o.batch_size > 0) {
    for (size_t i = 0; i < feeds.size(); ++i) {
      const Tensor& t = feeds[i].second;
      if (t.dims() == 0 || t.dim_size(0) <= o.batch_size) continue;
      if (rows >= 0 && t.dim_size(0) != rows) {
        return absl::InvalidArgumentError(absl::StrCat(
            "batched feeds disagree on their row count: '", feeds[i].first, "' has ",
            t.dim_size(0), ", another has ", rows));
      }
      rows = t.dim_size(0);
      batched[i] = true;
    }
  }

  FeedShard shard;
  if (o.shard) {
    DFLOW_ASSIGN_OR_RETURN(shard, FeedShardFromEnv());
    std::cerr << DescribeShard(shard) << std::endl;
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (batched[i]) continue;  // Sharded per global batch below.
      DFLOW_ASSIGN_OR_RETURN(feeds[i].second, ShardFeed(feeds[i].second, feeds[i].first, shard));
    }
  }

  if (!o.restore.empty()) {
    DFLOW_ASSIGN_OR_RETURN(const std::string checkpoint, ResolveCheckpoint(o.restore));
    const bool saver = o.graph.empty() && HasSaverRestore(model.meta_graph);
    DFLOW_RETURN_IF_ERROR(saver ? RestoreThroughSaver(session, model.meta_graph, checkpoint)
                                : RestoreCheckpoint(session, checkpoint));
    std::cerr << "restored variables from " << checkpoint
              << (saver ? absl::StrCat(" through ", model.meta_graph.saver_def().restore_op_name())
                        : "")
              << std::endl;
  } else if (!o.init.empty()) {
    DFLOW_ASSIGN_OR_RETURN(const std::vector<std::string> init, InitOps(o.init, model.meta_graph));
    DFLOW_RETURN_IF_ERROR(session.Run({}, {}, init, nullptr));
  }

  std::vector<Tensor> outputs;
  RunOptions run_options;
  run_options.trace = !o.profile.empty();
  std::vector<RunMetadata> traces;
  const int64_t report_every = std::max<int64_t>(1, o.steps / 10);
  for (int64_t step = 1; step <= o.steps; ++step) {
    std::vector<std::pair<std::string, Tensor>> step_feeds = feeds;
    for (size_t i = 0; i < feeds.size(); ++i) {
      if (!batched[i]) continue;
      step_feeds[i].second = Rows(feeds[i].second, ((step - 1) * o.batch_size) % rows, o.batch_size);
      if (o.shard) {
        DFLOW_ASSIGN_OR_RETURN(step_feeds[i].second,
                               ShardFeed(step_feeds[i].second, feeds[i].first, shard));
      }
    }
    if (o.fetches.empty() && o.targets.empty()) break;
    RunMetadata trace;
    DFLOW_RETURN_IF_ERROR(
        session.Run(run_options, step_feeds, fetches, o.targets, &outputs, &trace));
    if (run_options.trace) traces.push_back(std::move(trace));
    if (o.steps > 1 && (step % report_every == 0 || step == 1)) {
      std::string line = absl::StrCat("step ", step, "/", o.steps);
      for (size_t i = 0; i < outputs.size(); ++i) {
        if (outputs[i].NumElements() == 1) absl::StrAppend(&line, "  ", Summary(o.fetches[i], outputs[i], false));
      }
      std::cerr << line << std::endl;
    }
  }

  if (!traces.empty()) {
    const absl::Span<const RunMetadata> steady =
        absl::MakeConstSpan(traces).subspan(traces.size() > 1 ? 1 : 0);
    std::cerr << ProfileSummary(steady, 15);
    DFLOW_RETURN_IF_ERROR(WriteChromeTrace(traces, o.profile));
    std::cerr << "wrote a Chrome trace of " << traces.size() << " step(s) to " << o.profile
              << std::endl;
  }
  if (!o.save.empty()) {
    const bool saver = o.graph.empty() && HasSaverSave(model.meta_graph);
    DFLOW_RETURN_IF_ERROR(saver ? SaveThroughSaver(session, model.meta_graph, o.save)
                                : SaveCheckpoint(session, o.save));
    std::cerr << "saved variables to " << o.save
              << (saver ? absl::StrCat(" through ", model.meta_graph.saver_def().save_tensor_name())
                        : "")
              << std::endl;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    std::cout << Summary(o.fetches[i], outputs[i], o.print) << std::endl;
  }
  if (!o.output_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(o.output_dir, ec);  // Fine when another run made it.
    if (ec || !std::filesystem::is_directory(o.output_dir)) {
      return absl::PermissionDeniedError(absl::StrCat(
          "--output_dir: cannot create '", o.output_dir, "': ", ec ? ec.message() : "not a folder"));
    }
    for (size_t i = 0; i < outputs.size(); ++i) {
      absl::StatusOr<std::string> npy = EncodeNpy(outputs[i]);
      if (!npy.ok()) return absl::InvalidArgumentError(absl::StrCat("fetch '", o.fetches[i], "': ", npy.status().message()));
      const std::string path = absl::StrCat(o.output_dir, "/", FileNameFor(o.fetches[i]));
      DFLOW_RETURN_IF_ERROR(WriteFileAtomically(path, *npy));
      std::cerr << "wrote " << path << std::endl;
    }
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace dflow

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << dflow::SessionRunUsage();
      return 0;
    }
  }
  absl::StatusOr<dflow::Options> options = dflow::ParseArgs(argc, argv);
  absl::Status s = options.status();
  try {
    if (options.ok()) s = dflow::Main(*options);
  } catch (const std::bad_alloc& e) {  // A tensor made outside any kernel.
    s = absl::ResourceExhaustedError(e.what());
  }
  if (!s.ok()) {
    std::cerr << "session_run: error: " << s.message() << std::endl;
    return 1;
  }
  return 0;
}
