// The V2 checkpoint format lives in kernels/tensor_bundle.h (SaveV2/RestoreV2 use it; kernels sit
// below runtime); this header keeps the old include path working.
#ifndef DFLOW_RUNTIME_TENSOR_BUNDLE_H_
#define DFLOW_RUNTIME_TENSOR_BUNDLE_H_

#include "kernels/tensor_bundle.h"

#endif  // DFLOW_RUNTIME_TENSOR_BUNDLE_H_
