#include "kernels/tensor_bundle.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <new>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "graph/status_macros.h"
#include "leveldb/env.h"
#include "leveldb/iterator.h"
#include "leveldb/options.h"
#include "leveldb/table.h"
#include "leveldb/table_builder.h"
#include "proto/tensor_bundle.pb.h"
#include "kernels/crc32c.h"
#include "kernels/table_handles.h"
#include "kernels/tensor_bundle_strings.h"

namespace dflow {
namespace {

std::string TempPath(const std::string& path) { return absl::StrCat(path, ".tmp.", getpid()); }

absl::Status FromLevelDb(const leveldb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(what, ": ", s.ToString()));
}

// Closes, syncs and keeps a leveldb file; removes the temporary when not committed.
class TempFile {
 public:
  explicit TempFile(std::string final_path)
      : final_(std::move(final_path)), temp_(TempPath(final_)) {}
  ~TempFile() {
    file_.reset();
    if (!committed_) std::remove(temp_.c_str());
  }
  absl::Status Open() {
    leveldb::WritableFile* file = nullptr;
    leveldb::Status s = leveldb::Env::Default()->NewWritableFile(temp_, &file);
    file_.reset(file);
    if (!s.ok()) return absl::PermissionDeniedError(absl::StrCat("cannot write '", temp_, "': ",
                                                                 s.ToString()));
    return absl::OkStatus();
  }
  leveldb::WritableFile* file() { return file_.get(); }
  const std::string& temp() const { return temp_; }
  absl::Status SyncAndClose() {
    leveldb::Status s = file_->Sync();
    if (s.ok()) s = file_->Close();
    file_.reset();
    return FromLevelDb(s, absl::StrCat("failed writing '", temp_, "'"));
  }
  absl::Status Rename() {
    if (std::rename(temp_.c_str(), final_.c_str()) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("cannot rename '", temp_, "' to '", final_,
                                                      "': ", std::strerror(errno)));
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  std::string final_;
  std::string temp_;
  std::unique_ptr<leveldb::WritableFile> file_;
  bool committed_ = false;
};

void SyncDirectory(const std::string& dir) {
  const int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return;
  fsync(fd);  // Best effort: makes the renames durable where the filesystem supports it.
  close(fd);
}

leveldb::Options TableOptions() {
  leveldb::Options options;
  options.compression = leveldb::kNoCompression;
  options.block_size = kBundleIndexBlockSize;
  options.block_restart_interval = kBundleIndexRestartInterval;
  options.paranoid_checks = true;
  return options;
}

// The data files of one bundle, opened on first use.
class DataFiles {
 public:
  DataFiles(std::string prefix, int num_shards)
      : prefix_(std::move(prefix)), num_shards_(num_shards) {}
  ~DataFiles() {
    for (auto& [shard, file] : files_) close(file.fd);
  }

  struct File {
    int fd = -1;
    uint64_t size = 0;
    std::string path;
  };

  absl::StatusOr<const File*> Get(int shard) {
    auto it = files_.find(shard);
    if (it != files_.end()) return &it->second;
    File file;
    file.path = BundleDataPath(prefix_, shard, num_shards_);
    file.fd = open(file.path.c_str(), O_RDONLY);
    if (file.fd < 0) {
      return absl::NotFoundError(absl::StrCat("cannot open checkpoint data '", file.path,
                                              "': ", std::strerror(errno)));
    }
    struct stat st;
    if (fstat(file.fd, &st) != 0) {
      close(file.fd);
      return absl::DataLossError(absl::StrCat("cannot stat '", file.path, "'"));
    }
    file.size = static_cast<uint64_t>(st.st_size);
    return &files_.emplace(shard, std::move(file)).first->second;
  }

 private:
  std::string prefix_;
  int num_shards_;
  std::map<int, File> files_;
};

absl::Status ReadFully(const DataFiles::File& file, uint64_t offset, void* out, size_t size) {
  auto* p = static_cast<char*>(out);
  while (size > 0) {
    const ssize_t n = pread(file.fd, p, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::DataLossError(
          absl::StrCat("checkpoint data '", file.path, "' is truncated or unreadable"));
    }
    p += n;
    offset += static_cast<uint64_t>(n);
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status CheckHeader(const BundleHeaderProto& header, const std::string& index) {
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(absl::StrCat("checkpoint index '", index, "': ", why));
  };
  // Merged bundles have one shard per saving device; a million is far past any real one.
  if (header.num_shards() < 1 || header.num_shards() > 1000000) {
    return bad(absl::StrCat("header has ", header.num_shards(), " shards"));
  }
  if (header.endianness() != BundleHeaderProto::LITTLE) {
    return absl::UnimplementedError(absl::StrCat(
        "checkpoint index '", index, "' was written on a big-endian machine, which dflow reads not"));
  }
  // TensorFlow's CheckVersions for the bundle format.
  const VersionDef& v = header.version();
  if (v.producer() < kTensorBundleMinProducer) {
    return bad(absl::StrCat("format version ", v.producer(), " is older than the oldest supported, ",
                            kTensorBundleMinProducer));
  }
  if (v.min_consumer() > kTensorBundleVersion) {
    return absl::UnimplementedError(absl::StrCat(
        "checkpoint index '", index, "' needs a reader of format version >= ", v.min_consumer(),
        "; dflow's is ", kTensorBundleVersion));
  }
  for (int bad_consumer : v.bad_consumers()) {
    if (bad_consumer == kTensorBundleVersion) {
      return absl::UnimplementedError(absl::StrCat("checkpoint index '", index,
                                                   "' disallows readers of format version ",
                                                   kTensorBundleVersion));
    }
  }
  return absl::OkStatus();
}

// Reads and checks the tensor described by `entry`.
absl::StatusOr<Tensor> ReadEntry(const std::string& name, const BundleEntryProto& entry,
                                 int num_shards, const std::string& index, DataFiles& data) {
  auto bad = [&](const std::string& why) {
    return absl::DataLossError(
        absl::StrCat("checkpoint index '", index, "', tensor '", name, "': ", why));
  };
  if (entry.slices_size() > 0) {
    return absl::UnimplementedError(absl::StrCat(
        "checkpoint index '", index, "': tensor '", name,
        "' is partitioned into slices, which dflow does not restore"));
  }
  const DataType dtype = entry.dtype();
  // A resource handle names state of one run; it is never a checkpoint's value.
  if (IsRefType(dtype) || !HasStorage(dtype) || dtype == DT_RESOURCE) {
    return bad(absl::StrCat("dtype ", DataTypeString(dtype), " cannot be restored"));
  }
  absl::StatusOr<TensorShape> shape = TensorShape::FromProto(entry.shape());
  if (!shape.ok()) return bad(std::string(shape.status().message()));
  if (entry.shard_id() < 0 || entry.shard_id() >= num_shards) {
    return bad(absl::StrCat("shard ", entry.shard_id(), " is out of range [0, ", num_shards, ")"));
  }
  const uint64_t bytes = dtype == DT_STRING
                             ? static_cast<uint64_t>(entry.size())
                             : static_cast<uint64_t>(shape->num_elements()) * DataTypeSize(dtype);
  if (entry.size() < 0 || static_cast<uint64_t>(entry.size()) != bytes) {
    return bad(absl::StrCat("size ", entry.size(), " is not the ", bytes, " bytes of ",
                            DataTypeString(dtype), " ", shape->DebugString()));
  }
  DFLOW_ASSIGN_OR_RETURN(const DataFiles::File* file, data.Get(entry.shard_id()));
  if (entry.offset() < 0 || static_cast<uint64_t>(entry.offset()) > file->size ||
      bytes > file->size - static_cast<uint64_t>(entry.offset())) {
    return absl::DataLossError(absl::StrCat(
        "checkpoint data '", file->path, "' (", file->size, " bytes) is too short for tensor '",
        name, "' (", bytes, " bytes at offset ", entry.offset(), ")"));
  }
  if (dtype == DT_STRING) {
    std::string encoded(bytes, '\0');
    DFLOW_RETURN_IF_ERROR(ReadFully(*file, entry.offset(), encoded.data(), bytes));
    absl::StatusOr<Tensor> value = DecodeStringTensor(encoded, *shape, entry.crc32c());
    if (!value.ok()) {
      return absl::DataLossError(absl::StrCat("checkpoint data '", file->path, "': string tensor '",
                                              name, "': ", value.status().message()));
    }
    return value;
  }
  Tensor value(dtype, *shape);
  DFLOW_RETURN_IF_ERROR(ReadFully(*file, entry.offset(), value.data(), bytes));
  const uint32_t crc = crc32c::Value(value.data(), bytes);
  if (crc != crc32c::Unmask(entry.crc32c())) {
    return absl::DataLossError(absl::StrFormat(
        "checkpoint data '%s': tensor '%s' fails its checksum (crc32c 0x%08x, index says 0x%08x): "
        "the file is corrupt", file->path, name, crc, crc32c::Unmask(entry.crc32c())));
  }
  if (dtype == DT_BOOL) {
    const auto* b = static_cast<const unsigned char*>(value.data());
    for (uint64_t i = 0; i < bytes; ++i) {
      if (b[i] > 1) {
        return absl::DataLossError(absl::StrCat("checkpoint data '", file->path, "': bool tensor '",
                                                name, "' holds byte ", static_cast<int>(b[i]), " at element ", i));
      }
    }
  }
  return value;
}

}  // namespace

std::string Dirname(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Basename(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string BundleIndexPath(absl::string_view prefix) { return absl::StrCat(prefix, ".index"); }

std::string BundleDataPath(absl::string_view prefix, int shard, int num_shards) {
  return absl::StrFormat("%s.data-%05d-of-%05d", prefix, shard, num_shards);
}

bool BundleExists(const std::string& prefix) {
  struct stat st;
  return stat(BundleIndexPath(prefix).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

absl::Status WriteTensorBundle(const std::string& prefix, const NamedTensors& tensors) {
  std::map<std::string, BundleEntryProto> entries;  // Sorted, as the table requires.
  for (const auto& [name, value] : tensors) {
    if (name.empty()) return absl::InvalidArgumentError("cannot save a tensor with an empty name");
    if (entries.count(name) > 0) {
      return absl::InvalidArgumentError(absl::StrCat("cannot save tensor '", name, "' twice"));
    }
    if (!value.IsInitialized() || !HasStorage(value.dtype()) || IsRefType(value.dtype()) ||
        value.dtype() == DT_RESOURCE) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save tensor '", name, "' of dtype ", DataTypeString(value.dtype())));
    }
    entries[name];
  }

  TempFile data(BundleDataPath(prefix, 0, 1));
  DFLOW_RETURN_IF_ERROR(data.Open());
  uint64_t offset = 0;
  for (const auto& [name, value] : tensors) {
    BundleEntryProto& entry = entries[name];
    entry.set_dtype(value.dtype());
    value.shape().ToProto(entry.mutable_shape());
    entry.set_shard_id(0);
    entry.set_offset(static_cast<int64_t>(offset));
    std::string contents;
    if (value.dtype() == DT_STRING) {
      entry.set_crc32c(crc32c::Mask(EncodeStringTensor(value, &contents)));
    } else {
      // A copy, so that the crc covers exactly the bytes written even if a concurrent run
      // updates the variable in place meanwhile.
      contents.assign(static_cast<const char*>(value.data()), value.TotalBytes());
      entry.set_crc32c(crc32c::Mask(crc32c::Value(contents.data(), contents.size())));
    }
    const size_t bytes = contents.size();
    entry.set_size(static_cast<int64_t>(bytes));
    DFLOW_RETURN_IF_ERROR(FromLevelDb(data.file()->Append(contents),
                                      absl::StrCat("failed writing '", data.temp(), "'")));
    offset += bytes;
  }
  DFLOW_RETURN_IF_ERROR(data.SyncAndClose());

  TempFile index(BundleIndexPath(prefix));
  DFLOW_RETURN_IF_ERROR(index.Open());
  {
    leveldb::TableBuilder builder(TableOptions(), index.file());
    BundleHeaderProto header;
    header.set_num_shards(1);
    header.set_endianness(BundleHeaderProto::LITTLE);
    header.mutable_version()->set_producer(kTensorBundleVersion);
    header.mutable_version()->set_min_consumer(kTensorBundleMinConsumer);
    builder.Add("", header.SerializeAsString());
    for (const auto& [name, entry] : entries) builder.Add(name, entry.SerializeAsString());
    DFLOW_RETURN_IF_ERROR(
        FromLevelDb(builder.Finish(), absl::StrCat("failed writing '", index.temp(), "'")));
  }
  DFLOW_RETURN_IF_ERROR(index.SyncAndClose());

  // The index last: until it is renamed, a reader sees the old index (whose crc32cs then catch a
  // data file that changed under it).
  DFLOW_RETURN_IF_ERROR(data.Rename());
  DFLOW_RETURN_IF_ERROR(index.Rename());
  SyncDirectory(Dirname(prefix));
  return absl::OkStatus();
}

namespace {

using IndexEntries = std::vector<std::pair<std::string, BundleEntryProto>>;

// Reads the index table at `index_path`: its checked header and its entries in key order.
absl::Status ReadIndexUnguarded(const std::string& index_path, BundleHeaderProto* header,
                                IndexEntries* entries) {
  leveldb::Env* env = leveldb::Env::Default();
  uint64_t index_size = 0;
  leveldb::RandomAccessFile* raw_file = nullptr;
  if (!env->GetFileSize(index_path, &index_size).ok() ||
      !env->NewRandomAccessFile(index_path, &raw_file).ok()) {
    return absl::NotFoundError(absl::StrCat("cannot open checkpoint index '", index_path,
                                            "': ", std::strerror(ENOENT)));
  }
  std::unique_ptr<leveldb::RandomAccessFile> index_file(raw_file);
  DFLOW_RETURN_IF_ERROR(CheckTableBlockHandles(index_file.get(), index_size, index_path));
  leveldb::Table* raw_table = nullptr;
  leveldb::Status s = leveldb::Table::Open(TableOptions(), index_file.get(), index_size, &raw_table);
  if (!s.ok()) {
    return absl::DataLossError(absl::StrCat("checkpoint index '", index_path,
                                            "' is not a valid table: ", s.ToString()));
  }
  std::unique_ptr<leveldb::Table> table(raw_table);
  leveldb::ReadOptions read_options;
  read_options.verify_checksums = true;
  read_options.fill_cache = false;
  std::unique_ptr<leveldb::Iterator> it(table->NewIterator(read_options));

  it->SeekToFirst();
  if (!it->Valid() || !it->key().empty()) {
    DFLOW_RETURN_IF_ERROR(FromLevelDb(it->status(), absl::StrCat("checkpoint index '", index_path, "'")));
    return absl::DataLossError(
        absl::StrCat("checkpoint index '", index_path, "' has no header entry (empty key)"));
  }
  if (!header->ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
    return absl::DataLossError(
        absl::StrCat("checkpoint index '", index_path, "': the header does not parse"));
  }
  DFLOW_RETURN_IF_ERROR(CheckHeader(*header, index_path));
  std::string previous;
  for (it->Next(); it->Valid(); it->Next()) {
    std::string name = it->key().ToString();
    if (name <= previous) {
      return absl::DataLossError(absl::StrCat(
          "checkpoint index '", index_path, "' ",
          name == previous ? absl::StrCat("lists tensor '", name, "' twice")
                           : absl::StrCat("has its keys out of order at '", name, "'")));
    }
    BundleEntryProto entry;
    if (!entry.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(absl::StrCat("checkpoint index '", index_path,
                                              "': the entry of tensor '", name, "' does not parse"));
    }
    previous = name;
    entries->emplace_back(std::move(name), std::move(entry));
  }
  return FromLevelDb(it->status(), absl::StrCat("checkpoint index '", index_path, "'"));
}

// CheckTableBlockHandles keeps corrupt handles from LevelDB; this guard stays for what it cannot
// see (LevelDB allocating for a block whose handle passed but whose contents then mislead it).
absl::Status ReadIndex(const std::string& index_path, BundleHeaderProto* header,
                       IndexEntries* entries) {
  try {
    return ReadIndexUnguarded(index_path, header, entries);
  } catch (const std::bad_alloc&) {
    return absl::DataLossError(absl::StrCat("checkpoint index '", index_path,
                                            "' is corrupt: a block handle states an impossible size"));
  }
}

}  // namespace

absl::StatusOr<NamedTensors> ReadTensorBundle(const std::string& prefix) {
  const std::string index_path = BundleIndexPath(prefix);
  BundleHeaderProto header;
  IndexEntries entries;
  DFLOW_RETURN_IF_ERROR(ReadIndex(index_path, &header, &entries));
  DataFiles data(prefix, header.num_shards());
  NamedTensors tensors;
  for (const auto& [name, entry] : entries) {
    DFLOW_ASSIGN_OR_RETURN(Tensor value,
                           ReadEntry(name, entry, header.num_shards(), index_path, data));
    tensors.emplace_back(name, std::move(value));
  }
  return tensors;
}

absl::Status MergeTensorBundles(const std::vector<std::string>& prefixes,
                                const std::string& merged_prefix, bool allow_missing_files,
                                bool delete_old_dirs) {
  struct Source {
    std::string prefix;
    int num_shards;
  };
  std::vector<Source> sources;
  std::map<std::string, BundleEntryProto> merged;
  std::map<std::string, int> new_shard;  // Source data file -> shard id in the merged bundle.
  std::vector<std::string> data_files;
  for (const std::string& prefix : prefixes) {
    if (!BundleExists(prefix)) {
      if (allow_missing_files) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          "allow_missing_files is false and checkpoint '", prefix, "' does not exist"));
    }
    BundleHeaderProto header;
    IndexEntries entries;
    DFLOW_RETURN_IF_ERROR(ReadIndex(BundleIndexPath(prefix), &header, &entries));
    for (auto& [name, entry] : entries) {
      if (merged.count(name) > 0) {
        return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' is in two of the ",
                                                       "checkpoints merged into '", merged_prefix,
                                                       "' (again in '", prefix, "')"));
      }
      if (entry.shard_id() < 0 || entry.shard_id() >= header.num_shards()) {
        return absl::DataLossError(absl::StrCat("checkpoint index '", BundleIndexPath(prefix),
                                                "', tensor '", name, "': shard ",
                                                entry.shard_id(), " is out of range"));
      }
      const std::string file = BundleDataPath(prefix, entry.shard_id(), header.num_shards());
      auto [it, inserted] = new_shard.emplace(file, static_cast<int>(data_files.size()));
      if (inserted) data_files.push_back(file);
      entry.set_shard_id(it->second);
      merged.emplace(name, std::move(entry));
    }
    sources.push_back({prefix, header.num_shards()});
  }
  if (sources.empty()) {
    return absl::InvalidArgumentError(
        "at least one checkpoint to merge must exist, but none of them does");
  }
  const int num_shards = static_cast<int>(data_files.size());
  // A bundle without tensors still has its (empty) data file: keep one shard, as TensorFlow's
  // merge of such bundles renames nothing and reads nothing.
  for (int i = 0; i < num_shards; ++i) {
    const std::string target = BundleDataPath(merged_prefix, i, num_shards);
    if (std::rename(data_files[i].c_str(), target.c_str()) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("cannot rename '", data_files[i], "' to '",
                                                      target, "': ", std::strerror(errno)));
    }
  }
  TempFile index(BundleIndexPath(merged_prefix));
  DFLOW_RETURN_IF_ERROR(index.Open());
  {
    leveldb::TableBuilder builder(TableOptions(), index.file());
    BundleHeaderProto header;
    header.set_num_shards(std::max(num_shards, 1));
    header.set_endianness(BundleHeaderProto::LITTLE);
    header.mutable_version()->set_producer(kTensorBundleVersion);
    header.mutable_version()->set_min_consumer(kTensorBundleMinConsumer);
    builder.Add("", header.SerializeAsString());
    for (const auto& [name, entry] : merged) builder.Add(name, entry.SerializeAsString());
    DFLOW_RETURN_IF_ERROR(
        FromLevelDb(builder.Finish(), absl::StrCat("failed writing '", index.temp(), "'")));
  }
  DFLOW_RETURN_IF_ERROR(index.SyncAndClose());
  if (num_shards == 0) {
    // No tensors: the merged bundle still gets its one (empty) data file.
    TempFile data(BundleDataPath(merged_prefix, 0, 1));
    DFLOW_RETURN_IF_ERROR(data.Open());
    DFLOW_RETURN_IF_ERROR(data.SyncAndClose());
    DFLOW_RETURN_IF_ERROR(data.Rename());
  }
  DFLOW_RETURN_IF_ERROR(index.Rename());
  for (const Source& source : sources) {
    std::remove(BundleIndexPath(source.prefix).c_str());
    // An empty bundle's data file was never renamed (no entry names it).
    for (int shard = 0; shard < source.num_shards; ++shard) {
      const std::string file = BundleDataPath(source.prefix, shard, source.num_shards);
      if (new_shard.count(file) == 0) std::remove(file.c_str());
    }
  }
  if (delete_old_dirs) {
    const std::string merged_dir = Dirname(merged_prefix);
    for (const Source& source : sources) {
      const std::string dir = Dirname(source.prefix);
      if (dir != merged_dir) rmdir(dir.c_str());  // Only when empty, as TensorFlow's DeleteDir.
    }
  }
  SyncDirectory(Dirname(merged_prefix));
  return absl::OkStatus();
}

int RemoveStaleTemporaries(const std::string& prefix) {
  const std::string dir = Dirname(prefix);
  const std::string base = Basename(prefix);
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  int removed = 0;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (!absl::StartsWith(name, base)) continue;
    const size_t tmp = name.rfind(".tmp.");
    if (tmp == std::string::npos || tmp < base.size()) continue;
    int pid = 0;
    if (!absl::SimpleAtoi(absl::string_view(name).substr(tmp + 5), &pid) || pid <= 0) continue;
    if (pid == getpid() || kill(pid, 0) == 0 || errno != ESRCH) continue;  // Alive, or not ours to judge.
    if (std::remove(absl::StrCat(dir, "/", name).c_str()) == 0) ++removed;
  }
  closedir(d);
  return removed;
}

}  // namespace dflow
