// TensorArrays and stacks, as TensorFlow's tf.TensorArray and while-loop gradients use them:
// TensorArrayV3 and its Read/Write/Gather/Scatter/Concat/Split/Size/Grad/Close ops, and
// StackV2/StackPushV2/StackPopV2/StackCloseV2. Their state lives for one run
// (kernels/run_resources.h); graphs hold resource handles and float "flow" scalars that order
// the accesses. Imported from TensorFlow's GraphDefs; no C++ builders yet.
#ifndef DFLOW_OPS_TENSOR_ARRAY_OPS_H_
#define DFLOW_OPS_TENSOR_ARRAY_OPS_H_
#endif  // DFLOW_OPS_TENSOR_ARRAY_OPS_H_
