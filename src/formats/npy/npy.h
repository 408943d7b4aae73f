// NumPy .npy and .npz tensor files.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace edgekit {

// Reads a .npy file (v1/v2/v3 headers, little-endian, C order; Fortran order is transposed).
// Throws "<path>: <why>" for unsupported dtypes, truncation or malformed headers.
Tensor read_npy(const std::string& path);
Tensor parse_npy(const std::string& bytes, const std::string& display_name);
void write_npy(const std::string& path, const Tensor& tensor);
std::string serialize_npy(const Tensor& tensor);

// .npz: a zip of .npy files (stored or deflated). Keys drop the ".npy" suffix.
std::map<std::string, Tensor> read_npz(const std::string& path);
std::map<std::string, Tensor> parse_npz(const std::string& bytes, const std::string& display_name);
void write_npz(const std::string& path, const std::map<std::string, Tensor>& tensors);

}  // namespace edgekit
