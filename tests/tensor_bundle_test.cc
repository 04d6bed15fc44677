// TensorFlow's V2 checkpoint files: dflow-written files decoded by hand (LevelDB's table layout
// and the protobuf wire bytes, field by field, with TensorFlow's field numbers), crc32c against
// published vectors, corruption and malformed files, and files written by TensorFlow.
#include "runtime/tensor_bundle.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "leveldb/comparator.h"
#include "leveldb/env.h"
#include "leveldb/options.h"
#include "leveldb/table_builder.h"
#include "proto/tensor_bundle.pb.h"
#include "runtime/crc32c.h"
#include "tests/test_util.h"

namespace dflow {
namespace {

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Bit by bit, straight from the definition (reflected Castagnoli polynomial 0x82f63b78).
uint32_t ReferenceCrc32c(const std::string& bytes) {
  uint32_t crc = 0xffffffffu;
  for (unsigned char c : bytes) {
    crc ^= c;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1u)));
  }
  return ~crc;
}

uint32_t ReferenceMask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint64_t Varint(const std::string& s, size_t* pos) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    const unsigned char b = static_cast<unsigned char>(s.at((*pos)++));
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return v;
  }
  ADD_FAILURE() << "varint too long";
  return v;
}

uint32_t Fixed32(const std::string& s, size_t pos) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s.at(pos + i));
  return v;
}

// One protobuf field as it is on the wire: a varint or fixed32 number, or length-delimited bytes.
struct Field {
  int wire_type;
  uint64_t number = 0;
  std::string bytes;
};

std::multimap<int, Field> DecodeProto(const std::string& s) {
  std::multimap<int, Field> fields;
  size_t pos = 0;
  while (pos < s.size()) {
    const uint64_t tag = Varint(s, &pos);
    Field f{static_cast<int>(tag & 7)};
    if (f.wire_type == 0) {
      f.number = Varint(s, &pos);
    } else if (f.wire_type == 2) {
      const uint64_t n = Varint(s, &pos);
      f.bytes = s.substr(pos, n);
      pos += n;
    } else if (f.wire_type == 5) {
      f.number = Fixed32(s, pos);
      pos += 4;
    } else {
      ADD_FAILURE() << "unexpected wire type " << f.wire_type;
      break;
    }
    fields.emplace(static_cast<int>(tag >> 3), f);
  }
  return fields;
}

// The entries of one uncompressed LevelDB block (prefix-compressed keys, restart array at the
// end), after checking its 5-byte trailer: type 0 (no compression), masked crc32c of contents+type.
std::vector<std::pair<std::string, std::string>> DecodeBlock(const std::string& file,
                                                             uint64_t offset, uint64_t size) {
  const std::string block = file.substr(offset, size);
  EXPECT_EQ(file.at(offset + size), 0) << "compression type";
  EXPECT_EQ(Fixed32(file, offset + size + 1),
            ReferenceMask(ReferenceCrc32c(file.substr(offset, size + 1))))
      << "block crc";
  const uint32_t restarts = Fixed32(block, block.size() - 4);
  const size_t end = block.size() - 4 - 4 * restarts;
  std::vector<std::pair<std::string, std::string>> entries;
  std::string key;
  size_t pos = 0;
  while (pos < end) {
    const uint64_t shared = Varint(block, &pos);
    const uint64_t non_shared = Varint(block, &pos);
    const uint64_t value_size = Varint(block, &pos);
    key = key.substr(0, shared) + block.substr(pos, non_shared);
    pos += non_shared;
    entries.emplace_back(key, block.substr(pos, value_size));
    pos += value_size;
  }
  EXPECT_EQ(pos, end);
  return entries;
}

std::string Prefix(const std::string& name) { return test::TempDir(name) + "/model.ckpt"; }

NamedTensors TwoTensors() {
  return {{"weights", test::FloatTensor({2}, {1.5f, -2.f})},
          {"bias", test::Make<int32_t>({3}, {7, -8, 9})}};
}

TEST(Crc32c, MatchesPublishedVectors) {
  EXPECT_EQ(crc32c::Value("123456789", 9), 0xe3069283u);
  // RFC 3720 (iSCSI), appendix B.4.
  std::string zeros(32, '\0'), ones(32, '\xff'), up(32, 0), down(32, 0);
  for (int i = 0; i < 32; ++i) {
    up[i] = static_cast<char>(i);
    down[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c::Value(zeros.data(), 32), 0x8a9136aau);
  EXPECT_EQ(crc32c::Value(ones.data(), 32), 0x62a8ab43u);
  EXPECT_EQ(crc32c::Value(up.data(), 32), 0x46dd794eu);
  EXPECT_EQ(crc32c::Value(down.data(), 32), 0x113fdb5cu);
  EXPECT_EQ(crc32c::Value("", 0), 0u);
  // Any split gives the same crc; odd lengths exercise the byte-wise tail.
  const std::string text = "The quick brown fox jumps over the lazy dog, 0123456789";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    const uint32_t head = crc32c::Value(text.data(), cut);
    ASSERT_EQ(crc32c::Extend(head, text.data() + cut, text.size() - cut), ReferenceCrc32c(text));
  }
  for (uint32_t c : {0u, 1u, 0xe3069283u, 0xffffffffu}) {
    EXPECT_EQ(crc32c::Mask(c), ReferenceMask(c));
    EXPECT_EQ(crc32c::Unmask(crc32c::Mask(c)), c);
  }
}

TEST(TensorBundle, DflowsFilesDecodeByHandWithTensorFlowsSchema) {
  const std::string prefix = Prefix("by_hand");
  ASSERT_TRUE(WriteTensorBundle(prefix, TwoTensors()).ok());

  // Data file: the tensors' little-endian bytes back to back, in the order given, as
  // TensorFlow's BundleWriter appends them (weights, then bias).
  const std::string data = test::ReadFileBytes(prefix + ".data-00000-of-00001");
  const unsigned char expected_data[] = {0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0,
                                         7, 0, 0, 0, 0xf8, 0xff, 0xff, 0xff, 9, 0, 0, 0};
  ASSERT_EQ(data, std::string(reinterpret_cast<const char*>(expected_data), sizeof(expected_data)));

  // Index: a LevelDB table. Footer = metaindex and index block handles, padding to 40 bytes, magic.
  const std::string index = test::ReadFileBytes(prefix + ".index");
  ASSERT_GE(index.size(), 48u);
  const std::string footer = index.substr(index.size() - 48);
  EXPECT_EQ(Fixed32(footer, 40), 0x8b80fb57u);
  EXPECT_EQ(Fixed32(footer, 44), 0xdb477524u);
  size_t pos = 0;
  const uint64_t meta_offset = Varint(footer, &pos), meta_size = Varint(footer, &pos);
  const uint64_t index_offset = Varint(footer, &pos), index_size = Varint(footer, &pos);
  EXPECT_TRUE(DecodeBlock(index, meta_offset, meta_size).empty()) << "no filter blocks";
  const auto index_block = DecodeBlock(index, index_offset, index_size);
  ASSERT_EQ(index_block.size(), 1u) << "small tables fit one data block";
  pos = 0;
  const uint64_t block_offset = Varint(index_block[0].second, &pos);
  const uint64_t block_size = Varint(index_block[0].second, &pos);
  EXPECT_EQ(block_offset, 0u);
  const auto entries = DecodeBlock(index, block_offset, block_size);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].first, "");
  EXPECT_EQ(entries[1].first, "bias");
  EXPECT_EQ(entries[2].first, "weights");

  // BundleHeaderProto: num_shards = 1 (field 1), endianness LITTLE (field 2, the default, so
  // absent), version (field 3) = VersionDef{producer (1) = 1; min_consumer (2) = 0, absent}.
  auto header = DecodeProto(entries[0].second);
  ASSERT_EQ(header.count(1), 1u);
  EXPECT_EQ(header.find(1)->second.number, 1u);
  EXPECT_EQ(header.count(2), 0u);
  ASSERT_EQ(header.count(3), 1u);
  auto version = DecodeProto(header.find(3)->second.bytes);
  ASSERT_EQ(version.count(1), 1u);
  EXPECT_EQ(version.find(1)->second.number, 1u);
  EXPECT_EQ(version.count(2), 0u);

  // BundleEntryProto of "weights": dtype (1) DT_FLOAT = 1, shape (2) = TensorShapeProto{dim (2)
  // {size (1) = 2}}, shard_id (3) and offset (4) 0 so absent, size (5) = 8, crc32c (6, fixed32).
  auto entry = DecodeProto(entries[2].second);
  ASSERT_EQ(entry.count(1), 1u);
  EXPECT_EQ(entry.find(1)->second.number, 1u);
  ASSERT_EQ(entry.count(2), 1u);
  auto shape = DecodeProto(entry.find(2)->second.bytes);
  ASSERT_EQ(shape.count(2), 1u);
  auto dim = DecodeProto(shape.find(2)->second.bytes);
  EXPECT_EQ(dim.find(1)->second.number, 2u);
  EXPECT_EQ(entry.count(3), 0u);
  EXPECT_EQ(entry.count(4), 0u);
  EXPECT_EQ(entry.find(5)->second.number, 8u);
  ASSERT_EQ(entry.find(6)->second.wire_type, 5);
  EXPECT_EQ(entry.find(6)->second.number, ReferenceMask(ReferenceCrc32c(data.substr(0, 8))));
  EXPECT_EQ(entry.count(7), 0u) << "no slices";
  // And "bias": DT_INT32 = 3, 12 bytes at offset 8.
  auto bias = DecodeProto(entries[1].second);
  EXPECT_EQ(bias.find(1)->second.number, 3u);
  EXPECT_EQ(bias.find(4)->second.number, 8u);
  EXPECT_EQ(bias.find(5)->second.number, 12u);
  EXPECT_EQ(bias.find(6)->second.number, ReferenceMask(ReferenceCrc32c(data.substr(8, 12))));
}

TEST(TensorBundle, RoundTripsEveryDtypeAndShape) {
  const std::string prefix = Prefix("round_trip");
  NamedTensors tensors = TwoTensors();
  tensors.emplace_back("scalar", Tensor::Scalar<double>(0.25));
  tensors.emplace_back("empty", Tensor(DT_FLOAT, TensorShape({0, 3})));
  tensors.emplace_back("i64", test::Make<int64_t>({1, 2}, {int64_t{1} << 40, -1}));
  tensors.emplace_back("u8", test::Make<uint8_t>({2}, {0, 255}));
  tensors.emplace_back("flag", test::Make<bool>({2}, {true, false}));
  ASSERT_TRUE(WriteTensorBundle(prefix, tensors).ok());
  absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
  ASSERT_TRUE(read.ok()) << read.status();
  std::map<std::string, Tensor> want(tensors.begin(), tensors.end());
  ASSERT_EQ(read->size(), want.size());
  for (const auto& [name, value] : *read) {
    const Tensor& w = want.at(name);
    EXPECT_EQ(value.dtype(), w.dtype()) << name;
    EXPECT_EQ(value.shape(), w.shape()) << name;
    EXPECT_EQ(std::memcmp(value.data(), w.data(), w.TotalBytes()), 0) << name;
  }
  EXPECT_TRUE(absl::StrContains(WriteTensorBundle(prefix, {{"x", Tensor::Scalar<float>(1)},
                                                           {"x", Tensor::Scalar<float>(2)}})
                                    .message(),
                                "'x' twice"));
}

// Every single-bit flip of the data file fails naming the tensor and the file; a flip in every
// byte of the index (a different bit each byte) fails or (in the footer's padding) reads the
// very same tensors.
TEST(TensorBundle, EveryFlippedBitIsCaught) {
  const std::string prefix = Prefix("flips");
  ASSERT_TRUE(WriteTensorBundle(prefix, TwoTensors()).ok());
  const std::string data_path = prefix + ".data-00000-of-00001";
  const std::string data = test::ReadFileBytes(data_path);
  for (size_t bit = 0; bit < data.size() * 8; ++bit) {
    std::string bad = data;
    bad[bit / 8] ^= static_cast<char>(1 << (bit % 8));
    WriteAll(data_path, bad);
    absl::Status s = ReadTensorBundle(prefix).status();
    const char* tensor = bit / 8 < 8 ? "'weights'" : "'bias'";
    ASSERT_TRUE(absl::StrContains(s.message(), tensor) && absl::StrContains(s.message(), data_path) &&
                absl::StrContains(s.message(), "checksum"))
        << "bit " << bit << ": " << s;
  }
  WriteAll(data_path, data);

  const std::string index_path = prefix + ".index";
  const std::string index = test::ReadFileBytes(index_path);
  for (size_t byte = 0; byte < index.size(); ++byte) {
    const size_t bit = byte * 8 + (byte * 5) % 8;
    std::string bad = index;
    bad[byte] ^= static_cast<char>(1 << (bit % 8));
    WriteAll(index_path, bad);
    absl::StatusOr<NamedTensors> read = ReadTensorBundle(prefix);
    if (!read.ok()) {
      ASSERT_TRUE(absl::StrContains(read.status().message(), prefix)) << read.status();
      continue;
    }
    ASSERT_EQ(read->size(), 2u) << "bit " << bit;
    ASSERT_EQ(read->at(0).second.flat<int32_t>()[1], -8) << "bit " << bit;
    ASSERT_EQ(read->at(1).second.flat<float>()[1], -2.f) << "bit " << bit;
  }
}

TEST(TensorBundle, TruncatedOrMissingFilesAreErrorsNamingThem) {
  const std::string prefix = Prefix("truncated");
  ASSERT_TRUE(WriteTensorBundle(prefix, TwoTensors()).ok());
  const std::string data_path = prefix + ".data-00000-of-00001";
  const std::string data = test::ReadFileBytes(data_path);
  WriteAll(data_path, data.substr(0, data.size() - 1));
  absl::Status s = ReadTensorBundle(prefix).status();
  EXPECT_TRUE(absl::StrContains(s.message(), "too short for tensor 'bias'")) << s;
  std::remove(data_path.c_str());
  s = ReadTensorBundle(prefix).status();
  EXPECT_TRUE(absl::StrContains(s.message(), data_path)) << s;
  WriteAll(data_path, data);

  const std::string index = test::ReadFileBytes(prefix + ".index");
  for (size_t n : {size_t{0}, size_t{10}, index.size() - 1}) {
    WriteAll(prefix + ".index", index.substr(0, n));
    s = ReadTensorBundle(prefix).status();
    EXPECT_TRUE(absl::StrContains(s.message(), prefix + ".index")) << n << ": " << s;
  }
  s = ReadTensorBundle(Prefix("nothing")).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound) << s;
}

// LevelDB sizes its block buffer from the handle before reading, so a handle stating 2^56 bytes
// must be refused before LevelDB sees it (under ASan the allocation itself is fatal).
TEST(TensorBundle, AFooterHandlePastTheFileIsDataLoss) {
  const std::string prefix = Prefix("footer");
  ASSERT_TRUE(WriteTensorBundle(prefix, TwoTensors()).ok());
  std::string index = test::ReadFileBytes(prefix + ".index");
  ASSERT_GT(index.size(), 48u);
  // Footer (LevelDB's table format): metaindex handle, index handle (varint64 offset and size),
  // zero padding to 40 bytes, then the magic number's 8 bytes, kept from the real file.
  std::string footer = {0x00, 0x00, 0x00};  // metaindex (0, 0); index offset 0
  uint64_t size = uint64_t{1} << 56;
  while (size >= 0x80) {
    footer.push_back(static_cast<char>((size & 0x7f) | 0x80));
    size >>= 7;
  }
  footer.push_back(static_cast<char>(size));
  footer.resize(40, '\0');
  index.replace(index.size() - 48, 40, footer);
  WriteAll(prefix + ".index", index);
  const absl::Status s = ReadTensorBundle(prefix).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "index block handle lies outside the file")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), prefix + ".index")) << s;
}

// Takes keys in any order, repeated or backwards, which LevelDB's TableBuilder otherwise refuses
// to write (the reader iterates in file order, never comparing keys).
class AnyOrder : public leveldb::Comparator {
 public:
  int Compare(const leveldb::Slice&, const leveldb::Slice&) const override { return 1; }
  const char* Name() const override { return "dflow.test.AnyOrder"; }
  void FindShortestSeparator(std::string*, const leveldb::Slice&) const override {}
  void FindShortSuccessor(std::string*) const override {}
};

// Index files written with LevelDB's own TableBuilder, as a hostile or buggy writer could.
class MalformedIndex : public ::testing::Test {
 protected:
  void SetUp() override {
    prefix_ = Prefix("malformed");
    // 12 bytes of data: three int32 {1, 2, 3}.
    data_ = std::string("\x01\0\0\0\x02\0\0\0\x03\0\0\0", 12);
    WriteAll(prefix_ + ".data-00000-of-00001", data_);
  }
  BundleEntryProto Entry() const {
    BundleEntryProto e;
    e.set_dtype(DT_INT32);
    e.mutable_shape()->add_dim()->set_size(3);
    e.set_size(12);
    e.set_crc32c(ReferenceMask(ReferenceCrc32c(data_)));
    return e;
  }
  absl::Status Write(const std::vector<std::pair<std::string, std::string>>& rows,
                     const leveldb::Comparator* comparator = nullptr) {
    leveldb::WritableFile* raw = nullptr;
    EXPECT_TRUE(leveldb::Env::Default()->NewWritableFile(prefix_ + ".index", &raw).ok());
    std::unique_ptr<leveldb::WritableFile> file(raw);
    leveldb::Options options;
    options.compression = leveldb::kNoCompression;
    if (comparator != nullptr) options.comparator = comparator;
    leveldb::TableBuilder builder(options, file.get());
    for (const auto& [k, v] : rows) builder.Add(k, v);
    EXPECT_TRUE(builder.Finish().ok());
    EXPECT_TRUE(file->Close().ok());
    return ReadTensorBundle(prefix_).status();
  }
  std::string Header(int shards = 1) const {
    BundleHeaderProto h;
    h.set_num_shards(shards);
    h.mutable_version()->set_producer(1);
    return h.SerializeAsString();
  }
  std::string prefix_, data_;
};

TEST_F(MalformedIndex, AValidHandWrittenIndexReads) {
  EXPECT_TRUE(Write({{"", Header()}, {"x", Entry().SerializeAsString()}}).ok());
}

TEST_F(MalformedIndex, DuplicateNamesAreRejected) {
  const std::string e = Entry().SerializeAsString();
  const AnyOrder any_order;
  absl::Status s = Write({{"", Header()}, {"x", e}, {"x", e}}, &any_order);
  EXPECT_TRUE(absl::StrContains(s.message(), "lists tensor 'x' twice")) << s;
  s = Write({{"", Header()}, {"y", e}, {"x", e}}, &any_order);
  EXPECT_TRUE(absl::StrContains(s.message(), "keys out of order at 'x'")) << s;
  s = Write({{"", Header()}, {"", Header()}, {"x", e}}, &any_order);
  EXPECT_TRUE(absl::StrContains(s.message(), "lists tensor '' twice")) << s;
}

TEST_F(MalformedIndex, BadEntriesAreRejectedNamingTheTensor) {
  struct Case {
    std::function<void(BundleEntryProto*)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {[](BundleEntryProto* e) { e->set_shard_id(1); }, "shard 1 is out of range [0, 1)"},
      {[](BundleEntryProto* e) { e->set_size(8); }, "size 8 is not the 12 bytes"},
      {[](BundleEntryProto* e) { e->set_dtype(DT_INT64); }, "size 12 is not the 24 bytes"},
      {[](BundleEntryProto* e) { e->set_offset(4); }, "too short for tensor 'x'"},
      {[](BundleEntryProto* e) { e->set_offset(-4); }, "too short for tensor 'x'"},
      {[](BundleEntryProto* e) { e->set_dtype(DT_STRING); }, "string tensor"},
      {[](BundleEntryProto* e) { e->set_dtype(DT_RESOURCE); }, "cannot be restored"},
      {[](BundleEntryProto* e) { e->mutable_shape()->mutable_dim(0)->set_size(-1); },
       "unknown dimension"},
      {[](BundleEntryProto* e) { e->add_slices(); }, "partitioned"},
      {[](BundleEntryProto* e) { e->set_crc32c(e->crc32c() + 1); }, "checksum"},
  };
  for (const Case& c : cases) {
    BundleEntryProto e = Entry();
    c.change(&e);
    absl::Status s = Write({{"", Header()}, {"x", e.SerializeAsString()}});
    EXPECT_TRUE(absl::StrContains(s.message(), c.message) && absl::StrContains(s.message(), "'x'"))
        << c.message << ": " << s;
  }
  absl::Status s = Write({{"", Header()}, {"x", "\xff\xff\xff"}});
  EXPECT_TRUE(absl::StrContains(s.message(), "entry of tensor 'x' does not parse")) << s;
}

TEST_F(MalformedIndex, BadHeadersAreRejected) {
  const std::string e = Entry().SerializeAsString();
  absl::Status s = Write({{"x", e}});
  EXPECT_TRUE(absl::StrContains(s.message(), "no header entry")) << s;
  s = Write({{"", Header(0)}, {"x", e}});
  EXPECT_TRUE(absl::StrContains(s.message(), "header has 0 shards")) << s;
  BundleHeaderProto h;
  h.set_num_shards(1);
  h.set_endianness(BundleHeaderProto::BIG);
  s = Write({{"", h.SerializeAsString()}, {"x", e}});
  EXPECT_TRUE(absl::StrContains(s.message(), "big-endian")) << s;
  h.set_endianness(BundleHeaderProto::LITTLE);
  h.mutable_version()->set_min_consumer(2);
  s = Write({{"", h.SerializeAsString()}, {"x", e}});
  EXPECT_TRUE(absl::StrContains(s.message(), "format version >= 2")) << s;
  // Two shards: the entry's shard 1 is read from PREFIX.data-00001-of-00002.
  BundleEntryProto two = Entry();
  two.set_shard_id(1);
  WriteAll(prefix_ + ".data-00001-of-00002", data_);
  EXPECT_TRUE(Write({{"", Header(2)}, {"x", two.SerializeAsString()}}).ok());
}

// Temporaries of a writer that was killed are removed; a live writer's are left alone.
TEST(TensorBundle, RemovesOnlyDeadWritersTemporaries) {
  const std::string prefix = Prefix("stale");
  const pid_t child = fork();
  if (child == 0) _exit(0);
  ASSERT_GT(child, 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  const std::string dead = absl::StrCat(prefix, ".index.tmp.", child);
  const std::string dead_data = absl::StrCat(prefix, ".data-00000-of-00001.tmp.", child);
  const std::string old_format = absl::StrCat(prefix, ".tmp.", child);
  const std::string live = absl::StrCat(prefix, ".index.tmp.", getppid());
  const std::string own = absl::StrCat(prefix, ".index.tmp.", getpid());
  const std::string other = absl::StrCat(prefix.substr(0, prefix.rfind('/')), "/other.tmp.", child);
  for (const std::string& f : {dead, dead_data, old_format, live, own, other}) WriteAll(f, "x");
  EXPECT_EQ(RemoveStaleTemporaries(prefix), 3);
  EXPECT_FALSE(std::ifstream(dead).good());
  EXPECT_FALSE(std::ifstream(dead_data).good());
  EXPECT_FALSE(std::ifstream(old_format).good());
  EXPECT_TRUE(std::ifstream(live).good());
  EXPECT_TRUE(std::ifstream(own).good());
  EXPECT_TRUE(std::ifstream(other).good()) << "another prefix's files are not touched";
}

// TensorFlow-written bundles from the corpus (values stated in its README).
TEST(TensorBundle, ReadsTensorFlowsFiles) {
  const std::string shared = test::SharedDir();
  if (shared.empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR not set";
  const std::string files = shared + "/tf_graphs/corpus/files/";
  absl::StatusOr<NamedTensors> rust =
      ReadTensorBundle(files + "tfrust_regression_savedmodel/variables/variables");
  ASSERT_TRUE(rust.ok()) << rust.status();
  ASSERT_EQ(rust->size(), 2u);
  EXPECT_EQ(rust->at(0).first, "b");
  test::ExpectTensorNear(rust->at(0).second, {1}, {0.f});
  EXPECT_EQ(rust->at(1).first, "w");
  test::ExpectTensorNear(rust->at(1).second, {1}, {-0.5107f}, 1e-4);
  absl::StatusOr<NamedTensors> counter =
      ReadTensorBundle(files + "tfserving_saved_model_counter/variables/variables");
  ASSERT_TRUE(counter.ok()) << counter.status();
  ASSERT_EQ(counter->size(), 1u);
  EXPECT_EQ(counter->at(0).first, "counter");
  test::ExpectTensorNear(counter->at(0).second, {}, {0.f});
}

// The same tensors as TensorFlow 1.7's bundle, added in its order, give the very same bytes.
TEST(TensorBundle, WritesTheBytesTensorFlowWrites) {
  const std::string shared = test::SharedDir();
  if (shared.empty()) GTEST_SKIP() << "DFLOW_SHARED_DIR not set";
  const std::string tf =
      shared + "/tf_graphs/corpus/files/tfrust_regression_savedmodel/variables/variables";
  Tensor w(DT_FLOAT, TensorShape({1}));
  const unsigned char w_bytes[] = {0xe4, 0xbf, 0x02, 0xbf};  // As in TensorFlow's data file.
  std::memcpy(w.data(), w_bytes, 4);
  const std::string prefix = Prefix("as_tensorflow");
  ASSERT_TRUE(WriteTensorBundle(prefix, {{"b", test::FloatTensor({1}, {0.f})}, {"w", w}}).ok());
  EXPECT_EQ(test::ReadFileBytes(prefix + ".data-00000-of-00001"), test::ReadFileBytes(tf + ".data-00000-of-00001"));
  EXPECT_EQ(test::ReadFileBytes(prefix + ".index"), test::ReadFileBytes(tf + ".index"));

  // TensorFlow 1.5's counter: one float scalar (its shape an empty, present TensorShapeProto).
  const std::string counter =
      shared + "/tf_graphs/corpus/files/tfserving_saved_model_counter/variables/variables";
  ASSERT_TRUE(WriteTensorBundle(prefix, {{"counter", Tensor::Scalar<float>(0.f)}}).ok());
  EXPECT_EQ(test::ReadFileBytes(prefix + ".data-00000-of-00001"), test::ReadFileBytes(counter + ".data-00000-of-00001"));
  EXPECT_EQ(test::ReadFileBytes(prefix + ".index"), test::ReadFileBytes(counter + ".index"));
}

}  // namespace
}  // namespace dflow
