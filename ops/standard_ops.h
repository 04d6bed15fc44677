// Everything a user needs to build graphs with the C++ API: Scope, Input/Output, every op's
// builder function, gradients and training.
#ifndef DFLOW_OPS_STANDARD_OPS_H_
#define DFLOW_OPS_STANDARD_OPS_H_

#include "ops/array_ops.h"
#include "ops/batch_matmul_ops.h"
#include "ops/batch_norm_ops.h"
#include "ops/concat_ops.h"
#include "ops/conv_ops.h"
#include "ops/depthwise_ops.h"
#include "ops/gradients.h"
#include "ops/image_ops.h"
#include "ops/math_ops.h"
#include "ops/nn_ops.h"
#include "ops/pooling_ops.h"
#include "ops/quantize_ops.h"
#include "ops/random_ops.h"
#include "ops/reduction_ops.h"
#include "ops/scope.h"
#include "ops/shape_ops.h"
#include "ops/state_ops.h"
#include "ops/strided_slice_ops.h"
#include "ops/training.h"

#endif  // DFLOW_OPS_STANDARD_OPS_H_
