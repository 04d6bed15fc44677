// The feed-file fuzzing entry: arbitrary bytes as a .npy file, an IDX file or a literal feed.
#ifndef DFLOW_TOOLS_FUZZ_FEED_FUZZ_H_
#define DFLOW_TOOLS_FUZZ_FEED_FUZZ_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"

namespace dflow {

// Parses `data` as session_run would read a feed: .npy when it starts with NumPy's magic, IDX
// when it starts with two zero bytes, else as a literal for each dtype. A parsed tensor is
// converted to every dtype (ConvertValues) and a .npy one is encoded and parsed back, which must
// give the same bytes. Any outcome but a crash, a sanitizer report, a hang or a failed
// round trip (reported as Internal) is fine.
absl::Status RunFeedBytes(const uint8_t* data, size_t size);

}  // namespace dflow

#endif  // DFLOW_TOOLS_FUZZ_FEED_FUZZ_H_
