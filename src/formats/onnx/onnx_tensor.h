// ONNX TensorProto files (the .pb tensors of ONNX's test suites) to and from Tensors.
#pragma once
#include <string>

#include "core/tensor.h"

namespace edgekit {

// Reads a serialized onnx.TensorProto (e.g. test_data_set_0/input_0.pb). `name_out`, when
// given, receives the tensor's name.
Tensor read_onnx_tensor(const std::string& path, std::string* name_out = nullptr);

// Maps ONNX TensorProto.DataType codes to DType; throws for types edgekit does not hold.
DType dtype_from_onnx(int onnx_type, const std::string& where);
int onnx_type_from_dtype(DType t);

}  // namespace edgekit
