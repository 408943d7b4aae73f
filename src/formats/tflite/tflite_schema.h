// Field numbers and enums of the TFLite flatbuffer schema (tensorflow/lite/schema/schema.fbs,
// file identifier "TFL3"), written by hand for the tables the importer reads. A table field's
// vtable slot is 4 + 2 * index; a union field takes two indices (its type byte, then the value).
// Only append: the schema itself only ever appends fields and enum values.
#pragma once
#include <cstdint>

namespace edgekit::tflite {

// Field indices, one enum per table, in schema order.
namespace fields {
namespace Model { enum : int { version, operator_codes, subgraphs, description, buffers, metadata_buffer, metadata, signature_defs }; }
namespace OperatorCode { enum : int { deprecated_builtin_code, custom_code, version, builtin_code }; }
namespace SubGraph { enum : int { tensors, inputs, outputs, operators, name }; }
namespace Buffer { enum : int { data, offset, size }; }
namespace Metadata { enum : int { name, buffer }; }
namespace Tensor {
enum : int { shape, type, buffer, name, quantization, is_variable, sparsity, shape_signature, has_rank, variant_tensors };
}
namespace QuantizationParameters {
enum : int { min, max, scale, zero_point, details_type, details, quantized_dimension };
}
namespace Operator {
enum : int {
  opcode_index, inputs, outputs, builtin_options_type, builtin_options, custom_options, custom_options_format,
  mutating_variable_inputs, intermediates, large_custom_options_offset, large_custom_options_size,
  builtin_options_2_type, builtin_options_2
};
}

// Builtin options tables the importer reads.
namespace Conv2DOptions { enum : int { padding, stride_w, stride_h, fused_activation_function, dilation_w_factor, dilation_h_factor }; }
namespace DepthwiseConv2DOptions {
enum : int { padding, stride_w, stride_h, depth_multiplier, fused_activation_function, dilation_w_factor, dilation_h_factor };
}
namespace Pool2DOptions { enum : int { padding, stride_w, stride_h, filter_width, filter_height, fused_activation_function }; }
namespace FullyConnectedOptions { enum : int { fused_activation_function, weights_format, keep_num_dims, asymmetric_quantize_inputs }; }
namespace SoftmaxOptions { enum : int { beta }; }
namespace ConcatenationOptions { enum : int { axis, fused_activation_function }; }
// AddOptions, SubOptions, MulOptions, DivOptions: the activation is field 0 in all four.
namespace ArithmeticOptions { enum : int { fused_activation_function }; }
namespace ReshapeOptions { enum : int { new_shape }; }
namespace ReducerOptions { enum : int { keep_dims }; }
namespace SqueezeOptions { enum : int { squeeze_dims }; }
namespace StridedSliceOptions { enum : int { begin_mask, end_mask, ellipsis_mask, new_axis_mask, shrink_axis_mask, offset }; }
namespace LeakyReluOptions { enum : int { alpha }; }
namespace GatherOptions { enum : int { axis, batch_dims }; }
namespace SplitOptions { enum : int { num_splits }; }
namespace BatchMatMulOptions { enum : int { adj_x, adj_y }; }
namespace MirrorPadOptions { enum : int { mode }; }
namespace ArgMaxOptions { enum : int { output_type }; }
}  // namespace fields

// Values of the BuiltinOptions union's type byte (NONE = 0, then the union's members in order).
enum class OptionsType : uint8_t {
  none = 0, conv2d = 1, depthwise_conv2d = 2, pool2d = 5, fully_connected = 8, softmax = 9, concatenation = 10,
  add = 11, reshape = 17, mul = 21, pad = 22, gather = 23, transpose = 26, reducer = 27, sub = 28, div = 29,
  squeeze = 30, strided_slice = 32, split = 35, log_softmax = 36, cast = 37, dequantize = 38, maximum_minimum = 39,
  arg_max = 40, pad_v2 = 43, slice = 48, expand_dims = 52, pow = 56, arg_min = 57, leaky_relu = 75,
  squared_difference = 76, mirror_pad = 77, hard_swish = 91, batch_matmul = 101
};

enum class TensorType : int8_t {
  FLOAT32 = 0, FLOAT16 = 1, INT32 = 2, UINT8 = 3, INT64 = 4, STRING = 5, BOOL = 6, INT16 = 7, COMPLEX64 = 8,
  INT8 = 9, FLOAT64 = 10, COMPLEX128 = 11, UINT64 = 12, RESOURCE = 13, VARIANT = 14, UINT32 = 15, UINT16 = 16,
  INT4 = 17
};
const char* tensor_type_name(int type);  // "FLOAT32", ...; "TYPE_<n>" when unknown

enum class Padding : int8_t { SAME = 0, VALID = 1 };
enum class Activation : int8_t { NONE = 0, RELU = 1, RELU_N1_TO_1 = 2, RELU6 = 3, TANH = 4, SIGN_BIT = 5 };

// BuiltinOperator codes the importer maps (the full name table is builtin_op_name()).
enum class Op : int32_t {
  ADD = 0, AVERAGE_POOL_2D = 1, CONCATENATION = 2, CONV_2D = 3, DEPTHWISE_CONV_2D = 4, DEQUANTIZE = 6,
  FLOOR = 8, FULLY_CONNECTED = 9, LOGISTIC = 14, MAX_POOL_2D = 17, MUL = 18, RELU = 19, RELU_N1_TO_1 = 20,
  RELU6 = 21, RESHAPE = 22, SOFTMAX = 25, TANH = 28, CUSTOM = 32, PAD = 34, GATHER = 36, TRANSPOSE = 39,
  MEAN = 40, SUB = 41, DIV = 42, SQUEEZE = 43, STRIDED_SLICE = 45, EXP = 47, SPLIT = 49, LOG_SOFTMAX = 50,
  CAST = 53, PRELU = 54, MAXIMUM = 55, ARG_MAX = 56, MINIMUM = 57, NEG = 59, PADV2 = 60, SLICE = 65, SIN = 66,
  EXPAND_DIMS = 70, LOG = 73, SUM = 74, SQRT = 75, RSQRT = 76, POW = 78, ARG_MIN = 79, REDUCE_PROD = 81,
  REDUCE_MAX = 82, REDUCE_MIN = 89, SQUARE = 92, LEAKY_RELU = 98, SQUARED_DIFFERENCE = 99, MIRROR_PAD = 100,
  ABS = 101, CEIL = 104, COS = 108, ELU = 111, QUANTIZE = 114, ROUND = 116, HARD_SWISH = 117,
  BATCH_MATMUL = 126, PLACEHOLDER_FOR_GREATER_OP_CODES = 127, RELU_0_TO_1 = 152
};
// "CONV_2D" for 3; "BUILTIN_<n>" for codes newer than the table.
const char* builtin_op_name(int32_t code);

}  // namespace edgekit::tflite
