#include "kernels/conv_util.h"

#include "kernels/op_kernel.h"

namespace dflow {


absl::StatusOr<ConvGeometry> ConvGeometryOf(const conv::Window2D& win, const TensorShape& input,
                                            const TensorShape& filter) {
  ConvGeometry g;
  g.n = input.dim_size(0);
  g.h = input.dim_size(1);
  g.w = input.dim_size(2);
  g.ci = input.dim_size(3);
  g.kh = filter.dim_size(0);
  g.kw = filter.dim_size(1);
  g.co = filter.dim_size(3);
  if (filter.dim_size(2) != g.ci) {
    return OpKernelContext::InvalidArgument(
        "the input's depth (dimension 3 of ", input.DebugString(),
        ") must equal the filter's in_channels (dimension 2 of ", filter.DebugString(), "): ",
        g.ci, " vs. ", filter.dim_size(2));
  }
  absl::StatusOr<conv::WindowedSize> rows =
      conv::ComputeWindowedSize(g.h, g.kh, win.stride_h, win.padding, "filter", "height");
  if (!rows.ok()) return rows.status();
  absl::StatusOr<conv::WindowedSize> cols =
      conv::ComputeWindowedSize(g.w, g.kw, win.stride_w, win.padding, "filter", "width");
  if (!cols.ok()) return cols.status();
  g.oh = rows->out;
  g.pad_top = rows->pad_before;
  g.pad_bottom = rows->pad_after;
  g.ow = cols->out;
  g.pad_left = cols->pad_before;
  g.pad_right = cols->pad_after;
  return g;
}
}  // namespace dflow
