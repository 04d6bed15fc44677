#include "tools/fuzz/checkpoint_fuzz.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "graph/status_macros.h"
#include "leveldb/env.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/table.h"
#include "leveldb/table_builder.h"
#include "ops/standard_ops.h"
#include "proto/tensor_bundle.pb.h"
#include "runtime/checkpoint.h"
#include "runtime/crc32c.h"
#include "runtime/tensor_bundle.h"

namespace dflow {
namespace {

constexpr uint8_t kBuiltForm = 1;
constexpr uint8_t kFixChecksums = 2;

// Reads little-endian integers and byte strings off the front of the input, short at its end.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}
  uint64_t Int(int bytes) {
    uint64_t v = 0;
    for (int i = 0; i < bytes && !in_.empty(); ++i) {
      v |= uint64_t{static_cast<uint8_t>(in_[0])} << (8 * i);
      in_.remove_prefix(1);
    }
    return v;
  }
  absl::string_view Bytes(uint64_t n) {
    absl::string_view out = in_.substr(0, std::min<uint64_t>(n, in_.size()));
    in_.remove_prefix(out.size());
    return out;
  }
  absl::string_view rest() const { return in_; }

 private:
  absl::string_view in_;
};

absl::Status WriteFile(const std::string& path, absl::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status FromLevelDb(const leveldb::Status& s) {
  return s.ok() ? absl::OkStatus() : absl::InternalError(s.ToString());
}

// An index table of `entries` with TensorFlow's table options, as a real bundle has.
absl::Status WriteTable(const std::map<std::string, std::string>& entries, const std::string& path) {
  leveldb::WritableFile* raw = nullptr;
  DFLOW_RETURN_IF_ERROR(FromLevelDb(leveldb::Env::Default()->NewWritableFile(path, &raw)));
  std::unique_ptr<leveldb::WritableFile> file(raw);
  leveldb::Options options;
  options.compression = leveldb::kNoCompression;
  options.block_size = kBundleIndexBlockSize;
  options.block_restart_interval = kBundleIndexRestartInterval;
  leveldb::TableBuilder builder(options, file.get());
  for (const auto& [key, value] : entries) builder.Add(key, value);
  DFLOW_RETURN_IF_ERROR(FromLevelDb(builder.Finish()));
  return FromLevelDb(file->Close());
}

}  // namespace

absl::Status WriteFuzzCheckpoint(absl::string_view input, const std::string& prefix) {
  Reader reader(input);
  const uint8_t flags = static_cast<uint8_t>(reader.Int(1));
  if ((flags & kBuiltForm) == 0) {
    const absl::string_view index = reader.Bytes(reader.Int(4));
    DFLOW_RETURN_IF_ERROR(WriteFile(BundleIndexPath(prefix), index));
    return WriteFile(BundleDataPath(prefix, 0, 1), reader.rest());
  }
  std::vector<std::pair<std::string, std::string>> raw_entries;
  for (uint64_t n = reader.Int(2); n > 0 && !reader.rest().empty(); --n) {
    std::string key(reader.Bytes(reader.Int(1)));
    std::string value(reader.Bytes(reader.Int(2)));
    raw_entries.emplace_back(std::move(key), std::move(value));
  }
  const absl::string_view data = reader.rest();
  std::map<std::string, std::string> entries;
  for (auto& [key, value] : raw_entries) {
    BundleEntryProto entry;
    if ((flags & kFixChecksums) != 0 && !key.empty() && entry.ParseFromString(value) &&
        entry.offset() >= 0 && entry.size() >= 0 &&
        static_cast<uint64_t>(entry.offset()) <= data.size() &&
        static_cast<uint64_t>(entry.size()) <= data.size() - entry.offset()) {
      entry.set_crc32c(crc32c::Mask(crc32c::Value(data.data() + entry.offset(), entry.size())));
      value = entry.SerializeAsString();
    }
    entries[key] = std::move(value);
  }
  DFLOW_RETURN_IF_ERROR(WriteTable(entries, BundleIndexPath(prefix)));
  return WriteFile(BundleDataPath(prefix, 0, 1), data);
}

absl::Status RunCheckpointBytes(const uint8_t* data, size_t size) {
  SetMaxTensorElements(int64_t{1} << 22);
  static const std::string dir = [] {
    const std::string d = absl::StrCat(std::filesystem::temp_directory_path().string(),
                                       "/dflow_checkpoint_fuzz.", getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::string prefix = dir + "/ckpt";
  DFLOW_RETURN_IF_ERROR(WriteFuzzCheckpoint(
      absl::string_view(reinterpret_cast<const char*>(data), size), prefix));

  absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
  if (read.ok()) {
    uint64_t sum = 0;  // Touches every byte, so that a bad buffer shows under ASan.
    for (const auto& [name, t] : *read) {
      const char* bytes = static_cast<const char*>(t.data());
      for (size_t i = 0; i < t.TotalBytes(); ++i) sum += static_cast<uint8_t>(bytes[i]);
    }
    static volatile uint64_t sink;
    sink = sum;
  }

  Scope root = Scope::NewRootScope();
  auto a = ops::Variable(root.WithOpName("a"), {2}, DT_FLOAT);
  auto b = ops::Variable(root.WithOpName("b"), PartialTensorShape({-1}), DT_INT32);
  ops::Assign(root.WithOpName("a/Assign"), a, ops::Const(root, {1.0f, 2.0f}));
  ops::Assign(root.WithOpName("b/Assign"), b, ops::Const(root, {7, 8, 9}));
  DFLOW_ASSIGN_OR_RETURN(std::unique_ptr<Session> session, Session::Create(root));
  DFLOW_RETURN_IF_ERROR(
      session->Run({}, {}, std::vector<std::string>{"a/Assign", "b/Assign"}, nullptr));
  const absl::Status restored = RestoreCheckpoint(*session, prefix);
  if (restored.ok()) return restored;
  std::vector<Tensor> after;
  DFLOW_RETURN_IF_ERROR(session->Run({}, std::vector<std::string>{"a", "b"}, {}, &after));
  const bool unchanged = after[0].NumElements() == 2 && after[0].flat<float>()[0] == 1.0f &&
                         after[0].flat<float>()[1] == 2.0f && after[1].NumElements() == 3 &&
                         after[1].flat<int32_t>()[0] == 7 && after[1].flat<int32_t>()[2] == 9;
  if (!unchanged) {
    return absl::InternalError(absl::StrCat("a failed restore changed a variable: ",
                                            restored.message()));
  }
  return restored;
}

absl::StatusOr<std::string> CheckpointFuzzInput(const std::string& prefix, bool fix_checksums) {
  const std::string index_path = BundleIndexPath(prefix);
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t file_size = 0;
  DFLOW_RETURN_IF_ERROR(FromLevelDb(env->GetFileSize(index_path, &file_size)));
  leveldb::RandomAccessFile* raw_file = nullptr;
  DFLOW_RETURN_IF_ERROR(FromLevelDb(env->NewRandomAccessFile(index_path, &raw_file)));
  std::unique_ptr<leveldb::RandomAccessFile> file(raw_file);
  leveldb::Table* raw_table = nullptr;
  DFLOW_RETURN_IF_ERROR(
      FromLevelDb(leveldb::Table::Open(leveldb::Options(), file.get(), file_size, &raw_table)));
  std::unique_ptr<leveldb::Table> table(raw_table);
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(leveldb::ReadOptions()));
  std::string entries;
  int count = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++count) {
    const std::string key = it->key().ToString(), value = it->value().ToString();
    entries.push_back(static_cast<char>(key.size()));
    entries += key;
    entries.push_back(static_cast<char>(value.size() & 0xff));
    entries.push_back(static_cast<char>(value.size() >> 8));
    entries += value;
  }
  std::ifstream in(BundleDataPath(prefix, 0, 1), std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string out;
  out.push_back(static_cast<char>(kBuiltForm | (fix_checksums ? kFixChecksums : 0)));
  out.push_back(static_cast<char>(count & 0xff));
  out.push_back(static_cast<char>(count >> 8));
  return out + entries + data;
}

}  // namespace dflow
