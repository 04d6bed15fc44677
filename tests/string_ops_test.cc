// DT_STRING tensors (construction, DeepCopy, TensorProto string_val and TensorFlow's string-list
// tensor_content), the string ops (StringJoin, string Add/Equal/NotEqual/Pack, ShardedFilename,
// ShardedFilespec, Assert on string data) and string/nested literals and |S .npy in tensor_io,
// all against hand-written values.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/standard_ops.h"
#include "tests/test_util.h"
#include "tools/tensor_io.h"
#include "tools/tensor_literal.h"

namespace dflow {
namespace {

Tensor Strings(const TensorShape& shape, std::vector<std::string> values) {
  absl::StatusOr<Tensor> t = Tensor::FromVector<std::string>(values, shape);
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : Tensor();
}

std::vector<std::string> ValuesOf(const Tensor& t) {
  EXPECT_EQ(t.dtype(), DT_STRING);
  auto v = t.flat<std::string>();
  return std::vector<std::string>(v.begin(), v.end());
}

using V = std::vector<std::string>;

TEST(StringTensor, ConstructsEmptyStringsAndDeepCopies) {
  Tensor t(DT_STRING, TensorShape({3}));
  EXPECT_EQ(ValuesOf(t), V({"", "", ""}));
  EXPECT_EQ(t.TotalBytes(), 0u) << "no plain-bytes copies of std::string objects";
  t.flat<std::string>()[1] = std::string(1000, 'x');  // Heap-allocated, freed with the buffer.
  Tensor shared = t;
  Tensor copy = t.DeepCopy();
  t.flat<std::string>()[1] = "changed";
  EXPECT_EQ(shared.flat<std::string>()[1], "changed");
  EXPECT_EQ(copy.flat<std::string>()[1], std::string(1000, 'x'));
  EXPECT_EQ(Tensor::Scalar<std::string>("a\"b").DebugString(), "string [] {\"a\\\"b\"}");
}

TEST(StringTensor, ProtoStringValRepeatsTheLastValue) {
  TensorProto p;
  p.set_dtype(DT_STRING);
  p.mutable_tensor_shape()->add_dim()->set_size(3);
  p.add_string_val("a");
  p.add_string_val("bc");
  absl::StatusOr<Tensor> t = Tensor::FromProto(p);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ValuesOf(*t), V({"a", "bc", "bc"}));
  TensorProto back;
  t->ToProto(&back);
  ASSERT_EQ(back.string_val_size(), 3);
  EXPECT_EQ(back.string_val(2), "bc");
  EXPECT_TRUE(back.tensor_content().empty());
  p.add_string_val("x");
  p.add_string_val("y");
  EXPECT_FALSE(Tensor::FromProto(p).ok()) << "4 values for 3 elements";
}

TEST(StringTensor, ProtoTensorContentIsTensorFlowsStringList) {
  // Lengths 1, 0, 3 as varint32s, then the bytes.
  TensorProto p;
  p.set_dtype(DT_STRING);
  p.mutable_tensor_shape()->add_dim()->set_size(3);
  p.set_tensor_content(std::string("\x01\x00\x03" "abcd", 7));
  absl::StatusOr<Tensor> t = Tensor::FromProto(p);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(ValuesOf(*t), V({"a", "", "bcd"}));
  p.set_tensor_content(std::string("\x01\x00\x03" "abc", 6));
  EXPECT_FALSE(Tensor::FromProto(p).ok()) << "one byte short";
  p.set_tensor_content(std::string("\x81", 1));
  EXPECT_FALSE(Tensor::FromProto(p).ok()) << "cut-off varint";
}

TEST(StringOps, StringJoinBroadcastsScalarsWithTheSeparator) {
  Scope root = Scope::NewRootScope();
  auto a = ops::Const(root, Strings({2}, {"x", "y"}));
  auto b = ops::Const(root, Tensor::Scalar<std::string>("_"));
  auto c = ops::Const(root, Strings({2}, {"1", "22"}));
  auto j = ops::StringJoin(root, {a, b, c}, "/");
  absl::StatusOr<Tensor> out = test::RunOne(root, j);
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->shape(), TensorShape({2}));
  EXPECT_EQ(ValuesOf(*out), V({"x/_/1", "y/_/22"}));
  Scope bad = Scope::NewRootScope();
  auto j2 = ops::StringJoin(bad, {ops::Const(bad, Strings({2}, {"a", "b"})),
                                  ops::Const(bad, Strings({3}, {"a", "b", "c"}))});
  EXPECT_FALSE(bad.ok() && test::RunOne(bad, j2).ok()) << "shapes [2] and [3]";
}

TEST(StringOps, AddConcatenatesAndEqualCompares) {
  Scope root = Scope::NewRootScope();
  auto x = ops::Const(root, Strings({2, 1}, {"a", "b"}));
  auto y = ops::Const(root, Strings({2}, {"1", "b"}));
  auto sum = ops::Add(root, x, y);
  auto eq = ops::Equal(root, x, y);
  auto ne = ops::NotEqual(root, x, y);
  auto packed = ops::Pack(root, {ops::Const(root, Strings({2}, {"p", "q"})),
                                 ops::Const(root, Strings({2}, {"r", "s"}))},
                          ops::Pack::Axis(1));
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {sum, eq, ne, packed});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].shape(), TensorShape({2, 2}));
  EXPECT_EQ(ValuesOf((*out)[0]), V({"a1", "ab", "b1", "bb"}));
  EXPECT_EQ(test::ValuesOf<bool>((*out)[1]), std::vector<bool>({false, false, false, true}));
  EXPECT_EQ(test::ValuesOf<bool>((*out)[2]), std::vector<bool>({true, true, true, false}));
  EXPECT_EQ((*out)[3].shape(), TensorShape({2, 2}));
  EXPECT_EQ(ValuesOf((*out)[3]), V({"p", "r", "q", "s"}));
}

TEST(StringOps, PlaceholderAndIdentityOfStrings) {
  Scope root = Scope::NewRootScope();
  auto p = ops::Placeholder(root.WithOpName("p"), DT_STRING);
  auto id = ops::Identity(root.WithOpName("id"), p);
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<Tensor>> out =
      test::RunGraph(root, {{p, Strings({2}, {"hello", ""})}}, {id});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(ValuesOf((*out)[0]), V({"hello", ""}));
}

TEST(StringOps, ShardedFilenameAndFilespec) {
  Scope root = Scope::NewRootScope();
  auto base = ops::Const(root, Tensor::Scalar<std::string>("/tmp/m_temp/part"));
  auto name = ops::ShardedFilename(root, base, 3, 12);
  auto spec = ops::ShardedFilespec(root, base, 12);
  absl::StatusOr<std::vector<Tensor>> out = test::RunGraph(root, {}, {name, spec});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].scalar<std::string>(), "/tmp/m_temp/part-00003-of-00012");
  EXPECT_EQ((*out)[1].scalar<std::string>(), "/tmp/m_temp/part-\?\?\?\?\?-of-00012");
}

TEST(StringOps, AssertPrintsStringData) {
  Scope root = Scope::NewRootScope();
  auto cond = ops::Const(root, Tensor::Scalar<bool>(false));
  auto msg = ops::Const(root, Tensor::Scalar<std::string>("scale must be 2, 3 or 4"));
  auto v = ops::Const(root, Strings({2}, {"a", "b\n"}));
  auto check = ops::Assert(root, cond, {msg, v});
  ASSERT_TRUE(root.ok()) << root.status();
  std::unique_ptr<Session> session = test::NewSession(root);
  absl::Status s = session->Run({}, {}, {check}, nullptr);
  EXPECT_TRUE(absl::StrContains(s.message(),
                                "assertion failed: [scale must be 2, 3 or 4] [a b\\n]"))
      << s;
}

TEST(TensorIoStrings, QuotedAndNestedLiterals) {
  absl::StatusOr<Tensor> s = ParseLiteral("\"/tmp/model\"", DT_STRING, "save/Const");
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->shape(), TensorShape());
  EXPECT_EQ(s->scalar<std::string>(), "/tmp/model");
  EXPECT_TRUE(LooksLikeLiteral("\"/tmp/model\""));
  absl::StatusOr<Tensor> esc = ParseLiteral(R"(["a\"b", "c,d]", ""])", DT_STRING, "x");
  ASSERT_TRUE(esc.ok()) << esc.status();
  EXPECT_EQ(ValuesOf(*esc), V({"a\"b", "c,d]", ""}));
  EXPECT_FALSE(ParseLiteral("model", DT_STRING, "x").ok()) << "strings need quotes";
  EXPECT_FALSE(ParseLiteral("\"1\"", DT_INT32, "x").ok()) << "a quoted number is no int";
  EXPECT_FALSE(ParseLiteral("\"abc", DT_STRING, "x").ok());

  absl::StatusOr<Tensor> m = ParseLiteral("[[1,0],[1, 1], [0,1]]", DT_FLOAT, "x");
  ASSERT_TRUE(m.ok()) << m.status();
  test::ExpectTensorNear(*m, {3, 2}, {1, 0, 1, 1, 0, 1});
  absl::StatusOr<Tensor> e = ParseLiteral("[[],[]]", DT_INT32, "x");
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->shape(), TensorShape({2, 0}));
  for (const char* bad : {"[[1,2],[3]]", "[[1],2]", "[1,[2]]", "[[1,2],]", "[[1,2]]]", "[[1,2]"}) {
    absl::StatusOr<Tensor> t = ParseLiteral(bad, DT_FLOAT, "x");
    EXPECT_FALSE(t.ok()) << bad << " became " << t->DebugString();
  }
  absl::StatusOr<Tensor> deep = ParseLiteral("[[[1],[2]]]", DT_INT64, "x");
  ASSERT_TRUE(deep.ok()) << deep.status();
  EXPECT_EQ(deep->shape(), TensorShape({1, 2, 1}));
}

TEST(TensorIoStrings, NpyByteStrings) {
  Tensor t = Strings({2}, {"ab", ""});
  absl::StatusOr<std::string> npy = EncodeNpy(t);
  ASSERT_TRUE(npy.ok()) << npy.status();
  EXPECT_TRUE(absl::StrContains(*npy, "'descr': '|S2'")) << *npy;
  ASSERT_EQ(npy->size() % 64, 4u) << "64-byte header, then 2 x 2 bytes";
  EXPECT_EQ(npy->substr(npy->size() - 4), std::string("ab\0\0", 4));
  // What numpy.save(np.array([b'xyz', b'q'])) writes: |S3, NUL-padded.
  std::string header = "{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::string file = std::string("\x93NUMPY\x01\x00", 8);
  file += static_cast<char>(header.size());
  file += '\0';
  file += header;
  file += std::string("xyzq\0\0", 6);
  absl::StatusOr<Tensor> back = ParseNpy(file, "f.npy");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(ValuesOf(*back), V({"xyz", "q"}));
  EXPECT_FALSE(ParseNpy(file.substr(0, file.size() - 1), "f.npy").ok()) << "one byte short";
}

}  // namespace
}  // namespace dflow
