// Literal feeds for session_run: numbers, true/false, quoted strings and nested lists of them,
// parsed strictly into a tensor of a given dtype; and the same fit checks for converting a
// tensor read from a file.
#ifndef DFLOW_TOOLS_TENSOR_LITERAL_H_
#define DFLOW_TOOLS_TENSOR_LITERAL_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "graph/tensor.h"

namespace dflow {

// A literal feed, strictly parsed: a number, true/false, a string in double quotes (C escapes
// inside; only for string feeds), or nested lists of them ([a,b], [[1,0],[1,1]]: rectangular,
// no empty items; [] is shape [0]). Each value must fit `dtype` exactly: 1.5, 1e10, nan or inf as int32, 2 as bool,
// 1e39 as float are errors saying so. Errors name `what` (the feed).
absl::StatusOr<Tensor> ParseLiteral(absl::string_view text, DataType dtype,
                                    const std::string& what);
// True when `text` reads as a literal (see ParseLiteral: a number, or starts with '[' or '"')
// rather than a file name.
bool LooksLikeLiteral(absl::string_view text);
// `t`'s values (times `scale`, when not 1) as `dtype`, each checked to fit as in ParseLiteral:
// an int64 holding 2^62 does not become an int32. Errors name `what`.
absl::StatusOr<Tensor> ConvertValues(const Tensor& t, DataType dtype, double scale,
                                     const std::string& what);

}  // namespace dflow

#endif  // DFLOW_TOOLS_TENSOR_LITERAL_H_
