// Early returns for absl::Status and absl::StatusOr, in the style of TensorFlow's
// TF_RETURN_IF_ERROR / TF_ASSIGN_OR_RETURN:
//
//   DFLOW_RETURN_IF_ERROR(CheckShape(x));          // returns the status when it is not ok
//   DFLOW_ASSIGN_OR_RETURN(Tensor t, ReadNpy(path)); // declares t, or returns the error
//   DFLOW_ASSIGN_OR_RETURN(value, Parse(text));      // assigns to an existing variable
#ifndef DFLOW_GRAPH_STATUS_MACROS_H_
#define DFLOW_GRAPH_STATUS_MACROS_H_

#include <utility>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define DFLOW_RETURN_IF_ERROR(expr)                                  \
  do {                                                               \
    ::absl::Status dflow_status_ = (expr);                           \
    if (ABSL_PREDICT_FALSE(!dflow_status_.ok())) return dflow_status_; \
  } while (false)

#define DFLOW_STATUS_CONCAT_INNER(a, b) a##b
#define DFLOW_STATUS_CONCAT(a, b) DFLOW_STATUS_CONCAT_INNER(a, b)

#define DFLOW_ASSIGN_OR_RETURN(lhs, expr) \
  DFLOW_ASSIGN_OR_RETURN_IMPL(DFLOW_STATUS_CONCAT(dflow_statusor_, __LINE__), lhs, expr)

#define DFLOW_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)                   \
  auto statusor = (expr);                                                  \
  if (ABSL_PREDICT_FALSE(!statusor.ok())) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // DFLOW_GRAPH_STATUS_MACROS_H_
