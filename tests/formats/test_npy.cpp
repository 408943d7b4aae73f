// .npy/.npz against files numpy wrote (tests/formats/data/npy, made by make_fixtures.py there)
// and against hand-made bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "formats/npy/npy.h"

namespace edgekit {
namespace {

std::string fixture(const std::string& name) { return std::string(EDGEKIT_SOURCE_DIR) + "/tests/formats/data/npy/" + name; }

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgekit_test_npy_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

// Element k of every ramp fixture is k - 2 converted to the dtype (bool: k odd).
template <class T>
T ramp_value(int64_t k) {
  if constexpr (std::is_same_v<T, bool>) return k % 2 == 1;
  else if constexpr (std::is_same_v<T, f16_t>) return float_to_half(float(k - 2));
  else return T(k - 2);
}

template <class T>
void expect_ramp(const Tensor& t, const Shape& shape) {
  ASSERT_EQ(t.dtype(), dtype_of<T>);
  ASSERT_EQ(t.shape(), shape);
  const T* p = t.data<T>();
  for (int64_t k = 0; k < t.numel(); ++k) {
    if constexpr (std::is_same_v<T, f16_t>) EXPECT_EQ(p[k].bits, ramp_value<T>(k).bits) << k;
    else EXPECT_EQ(p[k], ramp_value<T>(k)) << k;
  }
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Npy, ReadsEveryDTypeNumpyWrote) {
  const std::pair<const char*, DType> cases[] = {
      {"f4", DType::f32}, {"f8", DType::f64}, {"f2", DType::f16}, {"i1", DType::i8},  {"u1", DType::u8},
      {"i2", DType::i16}, {"u2", DType::u16}, {"i4", DType::i32}, {"u4", DType::u32}, {"i8", DType::i64},
      {"u8", DType::u64}, {"b1", DType::boolean},
  };
  for (auto [tag, dtype] : cases) {
    SCOPED_TRACE(tag);
    Tensor t = read_npy(fixture(std::string("ramp_") + tag + ".npy"));
    visit_dtype(dtype, [&](auto tagv) { expect_ramp<decltype(tagv)>(t, {2, 3}); });
  }
}

TEST(Npy, RoundTripsByteForByteWithNumpy) {
  // Our writer follows numpy's header layout exactly, so re-serialising gives numpy's bytes.
  for (const char* tag : {"f4", "f8", "f2", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "b1"}) {
    SCOPED_TRACE(tag);
    std::string path = fixture(std::string("ramp_") + tag + ".npy");
    EXPECT_EQ(serialize_npy(read_npy(path)), slurp(path));
  }
  EXPECT_EQ(serialize_npy(read_npy(fixture("scalar_f4.npy"))), slurp(fixture("scalar_f4.npy")));
  EXPECT_EQ(serialize_npy(read_npy(fixture("empty_0x3_f4.npy"))), slurp(fixture("empty_0x3_f4.npy")));
}

TEST(Npy, ScalarEmptyAndVersions) {
  Tensor s = read_npy(fixture("scalar_f4.npy"));
  EXPECT_EQ(s.rank(), 0u);
  EXPECT_EQ(s.data<float>()[0], -2.0f);
  Tensor e = read_npy(fixture("empty_0x3_f4.npy"));
  EXPECT_EQ(e.shape(), (Shape{0, 3}));
  expect_ramp<float>(read_npy(fixture("v2_f4.npy")), {2, 3});
  expect_ramp<float>(read_npy(fixture("v3_f4.npy")), {2, 3});
}

TEST(Npy, FortranOrderIsTransposedToC) {
  expect_ramp<float>(read_npy(fixture("fortran_2x3x4_f4.npy")), {2, 3, 4});
}

TEST(Npy, WriteThenReadFile) {
  Tensor t = Tensor::from<int32_t>({1, -2, 3, -4}, {2, 2});
  std::string path = temp_path("rt.npy");
  write_npy(path, t);
  Tensor back = read_npy(path);
  std::remove(path.c_str());
  EXPECT_EQ(back.shape(), t.shape());
  EXPECT_EQ(std::vector<int32_t>(back.data<int32_t>(), back.data<int32_t>() + 4), (std::vector<int32_t>{1, -2, 3, -4}));
}

TEST(Npy, HeaderIsAlignedAndVersion2ForLongHeaders) {
  std::string b = serialize_npy(Tensor(DType::f32, {1, 2, 3}));
  size_t header_len = uint8_t(b[8]) | uint8_t(b[9]) << 8;
  EXPECT_EQ((10 + header_len) % 64, 0u);
  EXPECT_EQ(b[10 + header_len - 1], '\n');
  // Hand-written v1 header with extra whitespace and keys in another order still parses.
  std::string dict = "{ 'shape' : ( 2 , ) ,\"fortran_order\": False, 'descr':'<i2' }";
  std::string f = std::string("\x93NUMPY\x01\x00", 8);
  f += char(dict.size() + 1);
  f += char(0);
  f += dict + "\n";
  f += std::string("\x05\x00\x06\x00", 4);
  Tensor t = parse_npy(f, "hand.npy");
  EXPECT_EQ(t.shape(), (Shape{2}));
  EXPECT_EQ(t.data<int16_t>()[1], 6);
}

TEST(Npy, UnsupportedDTypesNameFileAndDescr) {
  std::string be = error_of([] { read_npy(fixture("bigendian_f4.npy")); });
  EXPECT_NE(be.find("bigendian_f4.npy"), std::string::npos) << be;
  EXPECT_NE(be.find(">f4"), std::string::npos) << be;
  EXPECT_NE(be.find("big-endian"), std::string::npos) << be;
  std::string obj = error_of([] { read_npy(fixture("object.npy")); });
  EXPECT_NE(obj.find("object.npy"), std::string::npos) << obj;
  EXPECT_NE(obj.find("|O"), std::string::npos) << obj;
  std::string st = error_of([] { read_npy(fixture("structured.npy")); });
  EXPECT_NE(st.find("structured"), std::string::npos) << st;
  EXPECT_NE(st.find("'a'"), std::string::npos) << st;
}

TEST(Npy, TruncatedDataSaysExpectedAndGot) {
  std::string b = slurp(fixture("ramp_f4.npy"));
  std::string msg = error_of([&] { parse_npy(b.substr(0, b.size() - 5), "cut.npy"); });
  EXPECT_NE(msg.find("cut.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 24 bytes"), std::string::npos) << msg;
  EXPECT_NE(msg.find("got 19"), std::string::npos) << msg;
}

TEST(Npy, MalformedInputsThrowNeverCrash) {
  std::string good = slurp(fixture("ramp_f4.npy"));
  EXPECT_NE(error_of([] { parse_npy("", "e.npy"); }).find("not a .npy"), std::string::npos);
  EXPECT_NE(error_of([] { parse_npy("hello world, not npy", "t.npy"); }).find("magic"), std::string::npos);
  std::string v9 = good;
  v9[6] = 9;
  EXPECT_NE(error_of([&] { parse_npy(v9, "v9.npy"); }).find("version 9"), std::string::npos);
  // header length beyond the file
  EXPECT_NE(error_of([&] { parse_npy(good.substr(0, 40), "h.npy"); }).find("truncated .npy header"),
            std::string::npos);
  // v2 header claiming 4 GiB
  std::string huge = std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12) + "{}";
  EXPECT_NE(error_of([&] { parse_npy(huge, "huge.npy"); }).find("exceeds the limit"), std::string::npos);
  // every prefix of a good file fails cleanly
  for (size_t n = 0; n < good.size(); ++n) EXPECT_THROW(parse_npy(good.substr(0, n), "p.npy"), Error) << n;
  // garbage in the header dict
  for (const char* dict : {"{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}", "{'descr': '<f4', 'shape': (2,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}", "{'descr': '<f4'",
                           "{'descr': '<U3', 'fortran_order': False, 'shape': (1,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                           "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296)}"}) {
    std::string d(dict);
    std::string f = std::string("\x93NUMPY\x01\x00", 8) + char(d.size()) + char(0) + d;
    std::string msg = error_of([&] { parse_npy(f, "bad.npy"); });
    EXPECT_NE(msg.find("bad.npy"), std::string::npos) << dict << " -> " << msg;
  }
  EXPECT_NE(error_of([] { read_npy("/nonexistent/x.npy"); }).find("cannot open"), std::string::npos);
}

TEST(Npz, ReadsStoredAndDeflated) {
  for (const char* name : {"pair.npz", "pair_deflated.npz"}) {
    SCOPED_TRACE(name);
    auto m = read_npz(fixture(name));
    ASSERT_EQ(m.size(), 2u);
    expect_ramp<float>(m.at("x"), {2, 3});
    expect_ramp<int64_t>(m.at("idx"), {4});
  }
}

TEST(Npz, WriteThenRead) {
  std::string path = temp_path("rt.npz");
  write_npz(path, {{"a", Tensor::from<float>({1.5f, 2.5f}, {2})}, {"b/c", Tensor::scalar<bool>(true)}});
  auto m = read_npz(path);
  std::remove(path.c_str());
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m.at("a").data<float>()[1], 2.5f);
  EXPECT_TRUE(m.at("b/c").data<bool>()[0]);
}

TEST(Npz, CorruptArchivesThrow) {
  std::string path = temp_path("bad.npz");
  auto write = [&](const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
  };
  write("not a zip at all, just some bytes that are long enough");
  EXPECT_NE(error_of([&] { read_npz(path); }).find("not a .npz"), std::string::npos);
  for (const char* name : {"pair.npz", "pair_deflated.npz"}) {
    std::string good = slurp(fixture(name));
    for (size_t n = 0; n < good.size(); n += 7) {
      write(good.substr(0, n));
      EXPECT_THROW(read_npz(path), Error) << name << " cut at " << n;
    }
    // flip a byte inside the first entry's data: CRC or deflate must catch it
    std::string flipped = good;
    flipped[good.find("NUMPY") + 60] ^= 0x55;
    write(flipped);
    if (std::string(name) == "pair.npz") {
      EXPECT_NE(error_of([&] { read_npz(path); }).find("CRC"), std::string::npos);
    }
  }
  std::remove(path.c_str());
}

// Found by fuzz_npz: a directory claiming 3 GB for a few deflated bytes made the reader
// allocate the 3 GB before zlib could say the data was short.
TEST(Npz, SizeBeyondDeflateRatioIsRefusedBeforeAllocating) {
  std::string zip = slurp(fixture("pair_deflated.npz"));
  size_t central = zip.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  zip.replace(central + 24, 4, "\x00\x00\x00\xc0", 4);  // uncompressed size 0xc0000000
  std::string msg = error_of([&] { parse_npz(zip, "big.npz"); });
  EXPECT_NE(msg.find("big.npz: entry '"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3221225472 bytes cannot come from"), std::string::npos) << msg;
}

// Little-endian fields of hand-made zip records.
std::string le(uint64_t v, int bytes) {
  std::string s;
  for (int i = 0; i < bytes; ++i) s += char((v >> (8 * i)) & 0xff);
  return s;
}

// 64-bit offsets near 2^64 wrapped the bounds checks (offset + record size <= archive size)
// and were then read from (found by reading; UBSan and ASan report the read in make test-asan).
TEST(Npz, Zip64OffsetsNearTheTopOfTheRangeAreRefused) {
  const uint64_t top = ~uint64_t(0) - 15;
  std::string locator = le(0x07064b50, 4) + le(0, 4) + le(top, 8) + le(1, 4);
  std::string end =
      le(0x06054b50, 4) + le(0, 4) + le(0xffff, 2) + le(0xffff, 2) + le(0, 4) + le(0xffffffff, 4) + le(0, 2);
  EXPECT_NE(error_of([&] { parse_npz(locator + end, "z64.npz"); }).find("z64.npz: corrupt zip64 end record"),
            std::string::npos);

  std::string extra = le(1, 2) + le(8, 2) + le(top, 8);  // zip64 extra: the local header offset
  std::string central = le(0x02014b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4) +
                        le(0, 4) + le(0, 4) + le(5, 2) + le(extra.size(), 2) + le(0, 2) + le(0, 2) + le(0, 2) +
                        le(0, 4) + le(0xffffffff, 4) + "a.npy" + extra;
  end = le(0x06054b50, 4) + le(0, 4) + le(1, 2) + le(1, 2) + le(central.size(), 4) + le(0, 4) + le(0, 2);
  std::string msg = error_of([&] { parse_npz(central + end, "local.npz"); });
  EXPECT_NE(msg.find("local.npz: entry 'a.npy': corrupt local header"), std::string::npos) << msg;
}

}  // namespace
}  // namespace edgekit
