// Image files into model inputs (formats/image/image.h): decoding of images stb writes here,
// the preprocessing arithmetic, the resize, and bad files and inputs.
#include <gtest/gtest.h>
#include <stb_image_write.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "error_of.h"
#include "formats/image/image.h"

namespace edgekit {
namespace {

using test::error_of;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgekit_test_image_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
}

// w x h RGB pixels, each channel a distinct function of its position.
std::vector<uint8_t> rgb_pattern(int w, int h) {
  std::vector<uint8_t> p(size_t(w * h * 3));
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) p[size_t((y * w + x) * 3 + c)] = uint8_t(40 * x + 60 * y + 17 * c);
  return p;
}

ValueInfo input(Shape dims, DType t = DType::f32) { return {"x", t, std::move(dims), {}}; }

TEST(Image, PngAndBmpDecodeToTheirPixels) {
  const int w = 5, h = 4;
  const auto pixels = rgb_pattern(w, h);
  const std::string png = temp_path("a.png"), bmp = temp_path("a.BMP");
  ASSERT_TRUE(stbi_write_png(png.c_str(), w, h, 3, pixels.data(), w * 3));
  ASSERT_TRUE(stbi_write_bmp(bmp.c_str(), w, h, 3, pixels.data()));
  for (const auto& path : {png, bmp}) {
    SCOPED_TRACE(path);
    EXPECT_TRUE(is_image_file(path));
    const Image img = read_image(path, 3);
    EXPECT_EQ(img.width, w);
    EXPECT_EQ(img.height, h);
    EXPECT_EQ(img.channels, 3);
    EXPECT_EQ(img.pixels, pixels);
    const Image grey = read_image(path, 1);  // converted: one channel, between the RGB values
    ASSERT_EQ(grey.pixels.size(), size_t(w * h));
    EXPECT_GE(grey.pixels[7], pixels[21]);
    EXPECT_LE(grey.pixels[7], pixels[23]);
  }
  std::filesystem::remove(png);
  std::filesystem::remove(bmp);
  EXPECT_FALSE(is_image_file("a.npy"));
  EXPECT_FALSE(is_image_file("dir.png/file"));
}

TEST(Image, JpegDecodesCloseToWhatWasWritten) {
  const int w = 16, h = 16;
  std::vector<uint8_t> flat(size_t(w * h * 3), 0);
  for (size_t i = 0; i < flat.size(); i += 3) flat[i] = 200, flat[i + 1] = 100, flat[i + 2] = 50;
  const std::string jpg = temp_path("a.jpg");
  ASSERT_TRUE(stbi_write_jpg(jpg.c_str(), w, h, 3, flat.data(), 95));
  const Image img = read_image(jpg, 3);
  ASSERT_EQ(img.pixels.size(), flat.size());
  for (size_t i = 0; i < flat.size(); ++i) EXPECT_NEAR(int(img.pixels[i]), int(flat[i]), 6) << i;
  std::filesystem::remove(jpg);
}

TEST(Image, InputIsNormalisedInTheInputsLayout) {
  Image img;
  img.width = 2, img.height = 1, img.channels = 3;
  img.pixels = {0, 51, 102, 153, 204, 255};
  EkmPreprocessing pre;
  pre.mean = {0.f, 0.1f, 0.2f};
  pre.std = {1.f, 0.5f, 0.25f};
  const Tensor nchw = image_to_input(img, input({1, 3, 1, 2}), pre, "t");
  ASSERT_EQ(nchw.shape(), (Shape{1, 3, 1, 2}));
  const float* a = nchw.data<float>();
  EXPECT_FLOAT_EQ(a[0], 0.f);                        // c0, pixel 0
  EXPECT_FLOAT_EQ(a[1], 0.6f);                       // c0, pixel 1: 153 / 255
  EXPECT_FLOAT_EQ(a[2], (0.2f - 0.1f) / 0.5f);       // c1, pixel 0
  EXPECT_FLOAT_EQ(a[5], (1.f - 0.2f) / 0.25f);       // c2, pixel 1
  pre.layout = "NHWC";  // [1,1,2,3] could be either: a 1-channel 2x3 or a 3-channel 1x2 image
  const Tensor nhwc = image_to_input(img, input({1, 1, 2, 3}), pre, "t");
  ASSERT_EQ(nhwc.shape(), (Shape{1, 1, 2, 3}));
  EXPECT_FLOAT_EQ(nhwc.data<float>()[1], a[2]);
  EXPECT_FLOAT_EQ(nhwc.data<float>()[5], a[5]);
  const Tensor plain = image_to_input(img, input({1, 3, 1, 2}), {}, "t");  // no mean/std: pixel / 255
  EXPECT_FLOAT_EQ(plain.data<float>()[3], 204.f / 255.f);
}

TEST(Image, ResizeIsBilinearWithHalfPixelCentres) {
  Image img;  // 4x4 grey, value 10 * (4y + x)
  img.width = 4, img.height = 4, img.channels = 1;
  for (int i = 0; i < 16; ++i) img.pixels.push_back(uint8_t(10 * i));
  // Halving samples at the centre of each 2x2 block: the block's mean.
  const Tensor half = image_to_input(img, input({1, 1, 2, 2}), {}, "t");
  EXPECT_NEAR(half.data<float>()[0] * 255.f, (0 + 10 + 40 + 50) / 4.f, 1e-3);
  EXPECT_NEAR(half.data<float>()[3] * 255.f, (100 + 110 + 140 + 150) / 4.f, 1e-3);
  // A dynamic size takes the preprocessing's image size, else the image's own.
  EkmPreprocessing sized;
  sized.image_width = 2, sized.image_height = 2;
  EXPECT_EQ(image_to_input(img, input({-1, 1, -1, -1}), sized, "t").shape(), (Shape{1, 1, 2, 2}));
  const Tensor own = image_to_input(img, input({-1, 1, -1, -1}), {}, "t");
  ASSERT_EQ(own.shape(), (Shape{1, 1, 4, 4}));
  EXPECT_NEAR(own.data<float>()[5] * 255.f, 50.f, 1e-3);
}

TEST(Image, BadFilesAreOneLineErrors) {
  EXPECT_NE(error_of([] { read_image(temp_path("missing.png"), 3); }).find("cannot open the image"), std::string::npos);
  const std::string empty = temp_path("empty.png"), junk = temp_path("junk.png"), cut = temp_path("cut.png"),
                    huge = temp_path("huge.bmp");
  write_bytes(empty, "");
  write_bytes(junk, "this is not an image at all");
  const auto pixels = rgb_pattern(8, 8);
  ASSERT_TRUE(stbi_write_png(cut.c_str(), 8, 8, 3, pixels.data(), 24));
  std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
  // A BMP header claiming 100000 x 100000 pixels and nothing after it.
  std::string bmp(54, '\0');
  bmp[0] = 'B', bmp[1] = 'M', bmp[14] = 40, bmp[26] = 1, bmp[28] = 24;
  const uint32_t side = 100000;
  std::memcpy(&bmp[18], &side, 4), std::memcpy(&bmp[22], &side, 4);
  write_bytes(huge, bmp);
  EXPECT_NE(error_of([&] { read_image(empty, 3); }).find("empty file"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(junk, 3); }).find("not an image edgekit can decode"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(cut, 3); }).find(cut + ": "), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(huge, 3); }).find("at most 16384 a side"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(junk, 2); }).find("1 or 3 channels"), std::string::npos);
  // stb pads a cut JPEG, BMP or PGM with zeros; they are refused instead.
  const std::string jpg = temp_path("cut.jpg"), bmp_cut = temp_path("cut.bmp"), pgm = temp_path("cut.pgm"),
                    tga = temp_path("a.tga");
  ASSERT_TRUE(stbi_write_jpg(jpg.c_str(), 8, 8, 3, pixels.data(), 90));
  ASSERT_TRUE(stbi_write_bmp(bmp_cut.c_str(), 8, 8, 3, pixels.data()));
  ASSERT_TRUE(stbi_write_tga(tga.c_str(), 8, 8, 3, pixels.data()));
  write_bytes(pgm, "P5\n# comment\n8 8\n255\n" + std::string(40, 'x'));
  for (const auto& p : {jpg, bmp_cut}) std::filesystem::resize_file(p, std::filesystem::file_size(p) - 20);
  EXPECT_NE(error_of([&] { read_image(jpg, 3); }).find("JPEG without its end marker"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(bmp_cut, 3); }).find("BMP pixel data truncated"), std::string::npos);
  EXPECT_NE(error_of([&] { read_image(pgm, 1); }).find("PNM pixel data truncated (61 bytes, 85 expected)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_image(tga, 3); }).find("not a PNG, JPEG, BMP or binary PGM/PPM image"),
            std::string::npos);
  write_bytes(pgm, "P5\n# comment\n8 8\n255\n" + std::string(64, 'x'));
  EXPECT_EQ(read_image(pgm, 1).pixels, std::vector<uint8_t>(64, uint8_t('x')));
  for (const auto& p : {empty, junk, cut, huge, jpg, bmp_cut, pgm, tga}) std::filesystem::remove(p);
}

TEST(Image, InputsImagesCannotFeedAreOneLineErrors) {
  Image img;
  img.width = 2, img.height = 2, img.channels = 3, img.pixels.assign(12, 0);
  EkmPreprocessing none, bad_mean, bad_std, nhwc, size;
  bad_mean.mean = {0.1f, 0.2f};
  bad_std.std = {1.f, 0.f, 1.f};
  nhwc.layout = "NHWC";
  size.image_width = 3, size.image_height = 3;
  auto err = [&](const ValueInfo& in, const EkmPreprocessing& pre) {
    return error_of([&] { image_to_input(img, in, pre, "pic.png"); });
  };
  EXPECT_NE(err(input({1, 3, 2, 2}, DType::u8), none).find("images feed float32 inputs"), std::string::npos);
  EXPECT_NE(err(input({3, 2, 2}), none).find("rank-4"), std::string::npos);
  EXPECT_NE(err(input({1, 3, 4, 3}), none).find("cannot tell the layout"), std::string::npos);
  EXPECT_NE(err(input({1, 5, 4, 5}), none).find("cannot tell the layout"), std::string::npos);
  EXPECT_NE(err(input({1, 3, 2, 2}), nhwc).find("has 2 channels"), std::string::npos);
  EXPECT_NE(err(input({1, 1, 2, 2}), none).find("image has 3 channels"), std::string::npos);
  EXPECT_NE(err(input({1, 3, 2, 2}), bad_mean).find("mean has 2 values"), std::string::npos);
  EXPECT_NE(err(input({1, 3, 2, 2}), bad_std).find("std values must be positive"), std::string::npos);
  EXPECT_NE(err(input({1, 3, 2, 2}), size).find("image height 3 but input 'x'"), std::string::npos);
  EXPECT_EQ(err(input({1, 3, 2, 2}), none), "");
}

}  // namespace
}  // namespace edgekit
