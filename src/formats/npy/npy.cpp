// NumPy .npy / .npz reading and writing.
//
// .npy layout: "\x93NUMPY", major, minor, header length (u16 for v1, u32 for v2/v3), then a
// Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
// spaces and a '\n' so the data starts 64-byte aligned, then the raw elements.
// .npz: a zip archive whose entries are .npy files, stored or deflated (np.savez_compressed).
// The zip reader trusts the central directory (numpy writes zip64 local headers whose size
// fields are 0xFFFFFFFF) and checks every offset against the archive size before use.
#include "formats/npy/npy.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>
#include <vector>

namespace edgekit {

namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
// numpy itself refuses headers over 10000 bytes unless told otherwise; files with plain dtypes
// have headers of a few hundred bytes, so a larger one is malformed or hostile.
constexpr size_t kMaxHeaderLen = 1 << 16;

struct NpyDType {
  const char* descr;  // how numpy writes it on a little-endian machine
  DType dtype;
};
constexpr NpyDType kNpyDTypes[] = {
    {"<f4", DType::f32}, {"<f8", DType::f64}, {"<f2", DType::f16}, {"|i1", DType::i8},  {"|u1", DType::u8},
    {"<i2", DType::i16}, {"<u2", DType::u16}, {"<i4", DType::i32}, {"<u4", DType::u32}, {"<i8", DType::i64},
    {"<u8", DType::u64}, {"|b1", DType::boolean},
};

const char* descr_of(DType t) {
  for (const auto& d : kNpyDTypes)
    if (d.dtype == t) return d.descr;
  fail("dtype ", dtype_name(t), " cannot be written to .npy");
}

std::string supported_descrs() {
  std::string s;
  for (const auto& d : kNpyDTypes) s += (s.empty() ? "" : " ") + std::string(d.descr);
  return s;
}

// Maps a descr string to a DType, or fails saying why (big-endian, object, unsupported).
DType dtype_from_descr(const std::string& descr, const std::string& name) {
  EK_CHECK(descr.size() >= 2, name, ": unsupported dtype descr '", descr, "'");
  char order = descr[0];
  std::string kind_size = descr.substr(1);
  if (order != '<' && order != '>' && order != '|' && order != '=') {  // descr without byte order
    order = '|';
    kind_size = descr;
  }
  EK_CHECK(kind_size[0] != 'O', name, ": object arrays (descr '", descr,
           "') cannot be read: they need pickle; save a numeric array instead");
  for (const auto& d : kNpyDTypes) {
    if (kind_size != d.descr + 1) continue;
    bool single_byte = dtype_size(d.dtype) == 1;
    EK_CHECK(order != '>' || single_byte, name, ": big-endian dtype '", descr,
             "' is not supported; convert with arr.astype('", d.descr, "') before saving");
    return d.dtype;
  }
  fail(name, ": unsupported dtype descr '", descr, "' (supported: ", supported_descrs(), ")");
}

// ---- a tiny parser for the header's Python dict literal ----

struct HeaderParser {
  const std::string& s;
  const std::string& name;
  size_t pos = 0;

  [[noreturn]] void bad(const std::string& why) const {
    fail(name, ": malformed .npy header (", why, " at offset ", pos, "): ", s);
  }
  void skip_ws() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) ++pos;
  }
  bool accept(char c) {
    skip_ws();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!accept(c)) bad(cat("expected '", c, "'"));
  }
  bool at(char c) {
    skip_ws();
    return pos < s.size() && s[pos] == c;
  }
  std::string string_literal() {
    skip_ws();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"')) bad("expected a string");
    char q = s[pos++];
    std::string out;
    while (pos < s.size() && s[pos] != q) {
      if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
      out += s[pos++];
    }
    if (pos >= s.size()) bad("unterminated string");
    ++pos;
    return out;
  }
  std::string word() {
    skip_ws();
    size_t start = pos;
    while (pos < s.size() && (std::isalnum(static_cast<unsigned char>(s[pos])) || s[pos] == '_')) ++pos;
    if (start == pos) bad("expected a value");
    return s.substr(start, pos - start);
  }
  int64_t integer() {
    std::string w = word();
    if (!w.empty() && w.back() == 'L') w.pop_back();  // Python 2 longs: (3L, 4L)
    int64_t v = 0;
    for (char c : w) {
      if (c < '0' || c > '9') bad(cat("expected a non-negative integer dimension, got '", w, "'"));
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) bad("dimension too large");
      v = v * 10 + (c - '0');
    }
    return v;
  }
  // Skips a value we do not interpret (used only to produce a clear error for structured dtypes).
  void skip_value() {
    skip_ws();
    if (pos >= s.size()) bad("unexpected end");
    char c = s[pos];
    if (c == '\'' || c == '"') {
      string_literal();
    } else if (c == '(' || c == '[' || c == '{') {
      char close = c == '(' ? ')' : c == '[' ? ']' : '}';
      ++pos;
      while (!accept(close)) {
        skip_value();
        if (!accept(',') && !accept(':') && !at(close)) bad("expected ','");
      }
    } else {
      word();
    }
  }
};

struct NpyHeader {
  DType dtype = DType::undefined;
  bool fortran_order = false;
  Shape shape;
};

NpyHeader parse_header_dict(const std::string& text, const std::string& name) {
  HeaderParser p{text, name};
  NpyHeader h;
  bool has_descr = false, has_order = false, has_shape = false;
  p.expect('{');
  while (!p.accept('}')) {
    std::string key = p.string_literal();
    p.expect(':');
    if (key == "descr") {
      p.skip_ws();
      if (p.at('[')) fail(name, ": structured dtype (descr ", text.substr(p.pos, text.find(']', p.pos) - p.pos + 1),
                          ") is not supported; save each field as its own array");
      h.dtype = dtype_from_descr(p.string_literal(), name);
      has_descr = true;
    } else if (key == "fortran_order") {
      std::string w = p.word();
      if (w != "True" && w != "False") p.bad("fortran_order must be True or False");
      h.fortran_order = w == "True";
      has_order = true;
    } else if (key == "shape") {
      p.expect('(');
      while (!p.accept(')')) {
        h.shape.push_back(p.integer());
        if (!p.accept(',') && !p.at(')')) p.bad("expected ',' or ')' in shape");
      }
      has_shape = true;
    } else {
      p.skip_value();
    }
    if (!p.accept(',') && !p.at('}')) p.bad("expected ',' or '}'");
  }
  if (!has_descr || !has_order || !has_shape)
    fail(name, ": malformed .npy header: missing key '", !has_descr ? "descr" : !has_order ? "fortran_order" : "shape",
         "': ", text);
  return h;
}

uint32_t read_u32(const unsigned char* p) { return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24; }
uint16_t read_u16(const unsigned char* p) { return uint16_t(p[0] | p[1] << 8); }
uint64_t read_u64(const unsigned char* p) { return uint64_t(read_u32(p)) | uint64_t(read_u32(p + 4)) << 32; }

// Copies column-major `src` into row-major `dst`: walks the C-order index with an odometer and
// keeps the matching Fortran offset, so it is one pass whatever the rank.
void fortran_to_c(const unsigned char* src, unsigned char* dst, const Shape& shape, size_t elem) {
  size_t rank = shape.size();
  int64_t n = shape_numel(shape);
  if (n == 0) return;
  std::vector<int64_t> fstride(rank), idx(rank, 0);
  int64_t s = 1;
  for (size_t i = 0; i < rank; ++i) {
    fstride[i] = s;
    s *= shape[i];
  }
  int64_t off = 0;
  for (int64_t k = 0; k < n; ++k) {
    std::memcpy(dst + size_t(k) * elem, src + size_t(off) * elem, elem);
    for (size_t d = rank; d-- > 0;) {  // increment the last (fastest in C order) index first
      off += fstride[d];
      if (++idx[d] < shape[d]) break;
      off -= fstride[d] * shape[d];
      idx[d] = 0;
    }
  }
}

std::string read_file(const std::string& path, const char* what) {
  std::ifstream f(path, std::ios::binary);
  EK_CHECK(f.good(), path, ": cannot open ", what, " (missing or unreadable)");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EK_CHECK(!f.bad(), path, ": read error");
  return bytes;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  EK_CHECK(f.good(), path, ": cannot open for writing");
  f.write(bytes.data(), std::streamsize(bytes.size()));
  f.close();
  EK_CHECK(!f.fail(), path, ": write failed (disk full?)");
}

}  // namespace

Tensor parse_npy(const std::string& bytes, const std::string& name) {
  const auto* b = reinterpret_cast<const unsigned char*>(bytes.data());
  EK_CHECK(bytes.size() >= 10 && std::memcmp(b, kMagic, kMagicLen) == 0, name,
           ": not a .npy file (missing the \\x93NUMPY magic)");
  int major = b[6], minor = b[7];
  EK_CHECK(major >= 1 && major <= 3, name, ": unsupported .npy format version ", major, ".", minor,
           " (supported: 1.0, 2.0, 3.0)");
  size_t prefix = major == 1 ? 10 : 12;
  EK_CHECK(bytes.size() >= prefix, name, ": truncated .npy header");
  size_t header_len = major == 1 ? read_u16(b + 8) : read_u32(b + 8);
  EK_CHECK(header_len <= kMaxHeaderLen, name, ": .npy header length ", header_len, " exceeds the limit of ",
           kMaxHeaderLen, " bytes");
  EK_CHECK(bytes.size() >= prefix + header_len, name, ": truncated .npy header: expected ", header_len,
           " header bytes, got ", bytes.size() - prefix);
  NpyHeader h = parse_header_dict(bytes.substr(prefix, header_len), name);

  size_t elem = dtype_size(h.dtype);
  int64_t numel = 1;
  for (int64_t d : h.shape) {
    EK_CHECK(d == 0 || numel <= std::numeric_limits<int64_t>::max() / int64_t(elem) / d, name, ": shape ",
             shape_str(h.shape), " is too large");
    numel *= d;
  }
  size_t need = size_t(numel) * elem;
  size_t data_at = prefix + header_len;
  size_t have = bytes.size() - data_at;
  EK_CHECK(have >= need, name, ": truncated data: expected ", need, " bytes for ", dtype_name(h.dtype), " ",
           shape_str(h.shape), ", got ", have);

  Tensor t(h.dtype, h.shape);
  auto* dst = static_cast<unsigned char*>(t.raw());
  const unsigned char* src = b + data_at;
  if (h.fortran_order && h.shape.size() > 1)
    fortran_to_c(src, dst, h.shape, elem);
  else if (need)
    std::memcpy(dst, src, need);
  if (h.dtype == DType::boolean)  // any nonzero byte is True to numpy; keep edgekit's 0/1 invariant
    for (size_t i = 0; i < need; ++i) dst[i] = dst[i] != 0;
  return t;
}

Tensor read_npy(const std::string& path) { return parse_npy(read_file(path, ".npy file"), path); }

std::string serialize_npy(const Tensor& tensor) {
  EK_CHECK(tensor.defined(), "cannot write an undefined tensor to .npy");
  std::string dict = cat("{'descr': '", descr_of(tensor.dtype()), "', 'fortran_order': False, 'shape': (");
  for (size_t i = 0; i < tensor.rank(); ++i) dict += cat(i ? ", " : "", tensor.shape()[i]);
  dict += tensor.rank() == 1 ? ",), }" : "), }";
  // Version 1 stores the header length in 16 bits; longer headers need version 2.
  size_t prefix = 10;
  int major = 1;
  size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 65535) {
    prefix = 12;
    major = 2;
    total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  }
  size_t header_len = total - prefix;
  std::string out(kMagic, kMagicLen);
  out += char(major);
  out += char(0);
  for (size_t i = 0; i < (major == 1 ? 2u : 4u); ++i) out += char((header_len >> (8 * i)) & 0xff);
  out += dict;
  out.append(header_len - dict.size() - 1, ' ');
  out += '\n';
  out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& tensor) { write_file(path, serialize_npy(tensor)); }

// ---- .npz ----

namespace {

constexpr uint32_t kLocalSig = 0x04034b50, kCentralSig = 0x02014b50, kEndSig = 0x06054b50;
constexpr uint32_t kZip64EndSig = 0x06064b50, kZip64LocatorSig = 0x07064b50;

struct ZipEntry {
  std::string name;
  uint16_t flags = 0, method = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, size = 0, local_offset = 0;
};

// Deflate cannot expand data more than 1032 times (zlib's FAQ), so a larger size claimed by
// the directory is corrupt; checked before the output buffer is allocated.
constexpr uint64_t kMaxDeflateRatio = 1032;

std::string inflate_raw(const unsigned char* src, size_t n, size_t out_size, const std::string& where) {
  EK_CHECK(out_size / kMaxDeflateRatio <= n, where, ": corrupt zip entry: ", out_size, " bytes cannot come from ", n,
           " deflated bytes");
  std::string out(out_size, '\0');
  z_stream zs{};
  EK_CHECK(inflateInit2(&zs, -MAX_WBITS) == Z_OK, where, ": zlib initialisation failed");
  zs.next_in = const_cast<unsigned char*>(src);
  zs.avail_in = uInt(n);
  zs.next_out = reinterpret_cast<unsigned char*>(out.data());
  zs.avail_out = uInt(out_size);
  int rc = inflate(&zs, Z_FINISH);
  size_t produced = zs.total_out;
  inflateEnd(&zs);
  EK_CHECK(rc == Z_STREAM_END && produced == out_size, where, ": corrupt deflate data (expected ", out_size,
           " bytes, zlib ", rc == Z_STREAM_END ? "produced " + std::to_string(produced) + " bytes" : "error " + std::to_string(rc),
           ")");
  return out;
}

std::vector<ZipEntry> read_central_directory(const std::string& zip, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(zip.data());
  size_t n = zip.size();
  EK_CHECK(n >= 22, path, ": not a .npz file (too small to be a zip archive, ", n, " bytes)");
  // The end record sits in the last 22 + 65535 (max comment) bytes.
  size_t end = std::string::npos;
  for (size_t i = n - 22 + 1; i-- > 0 && n - i <= 22 + 65535;)
    if (read_u32(b + i) == kEndSig) {
      end = i;
      break;
    }
  EK_CHECK(end != std::string::npos, path, ": not a .npz file (no zip end-of-central-directory record)");
  uint64_t count = read_u16(b + end + 10);
  uint64_t cd_size = read_u32(b + end + 12);
  uint64_t cd_offset = read_u32(b + end + 16);
  if ((count == 0xffff || cd_offset == 0xffffffff) && end >= 20 && read_u32(b + end - 20) == kZip64LocatorSig) {
    uint64_t z64 = read_u64(b + end - 20 + 8);
    EK_CHECK(z64 <= n && n - z64 >= 56 && read_u32(b + z64) == kZip64EndSig, path, ": corrupt zip64 end record");
    count = read_u64(b + z64 + 32);
    cd_size = read_u64(b + z64 + 40);
    cd_offset = read_u64(b + z64 + 48);
  }
  EK_CHECK(cd_offset <= n && cd_size <= n - cd_offset, path, ": corrupt zip central directory (offset ",
           cd_offset, ", size ", cd_size, ", archive ", n, " bytes)");

  std::vector<ZipEntry> entries;
  size_t p = size_t(cd_offset), cd_end = size_t(cd_offset + cd_size);
  for (uint64_t i = 0; i < count; ++i) {
    EK_CHECK(p + 46 <= cd_end && read_u32(b + p) == kCentralSig, path, ": corrupt zip central directory entry ", i);
    ZipEntry e;
    e.flags = read_u16(b + p + 8);
    e.method = read_u16(b + p + 10);
    e.crc = read_u32(b + p + 16);
    e.compressed = read_u32(b + p + 20);
    e.size = read_u32(b + p + 24);
    size_t name_len = read_u16(b + p + 28), extra_len = read_u16(b + p + 30), comment_len = read_u16(b + p + 32);
    e.local_offset = read_u32(b + p + 42);
    EK_CHECK(p + 46 + name_len + extra_len + comment_len <= cd_end, path, ": corrupt zip central directory entry ", i);
    e.name.assign(zip, p + 46, name_len);
    // zip64 extra field (id 1): 8-byte values for whichever of the 32-bit fields are saturated.
    for (size_t x = p + 46 + name_len, xend = x + extra_len; x + 4 <= xend;) {
      uint16_t id = read_u16(b + x), len = read_u16(b + x + 2);
      if (x + 4 + len > xend) break;
      if (id == 1) {
        size_t q = x + 4, qend = q + len;
        auto take = [&](uint64_t& field) {
          if (field == 0xffffffff && q + 8 <= qend) {
            field = read_u64(b + q);
            q += 8;
          }
        };
        take(e.size);
        take(e.compressed);
        take(e.local_offset);
      }
      x += 4 + len;
    }
    entries.push_back(std::move(e));
    p += 46 + name_len + extra_len + comment_len;
  }
  return entries;
}

uint32_t crc32_of(const std::string& data) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = reinterpret_cast<const Bytef*>(data.data());
  for (size_t left = data.size(); left > 0;) {  // zlib takes uInt lengths
    uInt chunk = uInt(std::min<size_t>(left, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    left -= chunk;
  }
  return uint32_t(crc);
}

}  // namespace

std::map<std::string, Tensor> read_npz(const std::string& path) {
  return parse_npz(read_file(path, ".npz file"), path);
}

std::map<std::string, Tensor> parse_npz(const std::string& zip, const std::string& path) {
  const auto* b = reinterpret_cast<const unsigned char*>(zip.data());
  std::map<std::string, Tensor> out;
  for (const ZipEntry& e : read_central_directory(zip, path)) {
    std::string where = cat(path, ": entry '", e.name, "'");
    if (e.name.size() < 4 || e.name.compare(e.name.size() - 4, 4, ".npy") != 0) continue;  // not an array
    EK_CHECK(!(e.flags & 1), where, ": encrypted zip entries are not supported");
    EK_CHECK(e.method == 0 || e.method == 8, where, ": unsupported zip compression method ", e.method,
             " (supported: 0 stored, 8 deflate)");
    size_t lo = size_t(e.local_offset);
    EK_CHECK(e.local_offset <= zip.size() && zip.size() - e.local_offset >= 30 && read_u32(b + lo) == kLocalSig,
             where, ": corrupt local header");
    size_t data_at = lo + 30 + read_u16(b + lo + 26) + read_u16(b + lo + 28);
    EK_CHECK(data_at <= zip.size() && e.compressed <= zip.size() - data_at, where, ": truncated: expected ",
             e.compressed, " bytes of data, got ", data_at <= zip.size() ? zip.size() - data_at : 0);
    std::string npy = e.method == 0 ? zip.substr(data_at, size_t(e.compressed))
                                    : inflate_raw(b + data_at, size_t(e.compressed), size_t(e.size), where);
    EK_CHECK(e.method != 0 || e.compressed == e.size, where, ": stored entry sizes disagree");
    EK_CHECK(crc32_of(npy) == e.crc, where, ": CRC mismatch (corrupt archive)");
    out[e.name.substr(0, e.name.size() - 4)] = parse_npy(npy, where);
  }
  return out;
}

void write_npz(const std::string& path, const std::map<std::string, Tensor>& tensors) {
  std::string zip, central;
  auto put16 = [](std::string& s, uint32_t v) {
    s += char(v & 0xff);
    s += char((v >> 8) & 0xff);
  };
  auto put32 = [&](std::string& s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
  };
  EK_CHECK(tensors.size() < 0xffff, path, ": too many arrays for a .npz (", tensors.size(), ")");
  for (const auto& [key, t] : tensors) {
    std::string name = key + ".npy";
    std::string npy = serialize_npy(t);
    EK_CHECK(npy.size() < 0xffffffffu && zip.size() < 0xffffffffu && name.size() < 0xffff, path, ": array '", key,
             "' is too large for a .npz without zip64");
    uint32_t crc = crc32_of(npy), size = uint32_t(npy.size()), offset = uint32_t(zip.size());
    // local header: version 20, no flags, stored, DOS time 1980-01-01
    put32(zip, kLocalSig);
    put16(zip, 20);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, 0);
    put16(zip, 0x21);
    put32(zip, crc);
    put32(zip, size);
    put32(zip, size);
    put16(zip, uint32_t(name.size()));
    put16(zip, 0);
    zip += name;
    zip += npy;
    put32(central, kCentralSig);
    put16(central, 20);  // made by
    put16(central, 20);  // needed
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, size);
    put32(central, size);
    put16(central, uint32_t(name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    put32(central, 0);  // external attributes
    put32(central, offset);
    central += name;
  }
  EK_CHECK(zip.size() + central.size() < 0xffffffffu, path, ": archive too large for a .npz without zip64");
  uint32_t cd_offset = uint32_t(zip.size());
  zip += central;
  put32(zip, kEndSig);
  put16(zip, 0);
  put16(zip, 0);
  put16(zip, uint32_t(tensors.size()));
  put16(zip, uint32_t(tensors.size()));
  put32(zip, uint32_t(central.size()));
  put32(zip, cd_offset);
  put16(zip, 0);
  write_file(path, zip);
}

}  // namespace edgekit
