// crc32c moved to kernels/crc32c.h with the checkpoint format; the old include path still works.
#ifndef DFLOW_RUNTIME_CRC32C_H_
#define DFLOW_RUNTIME_CRC32C_H_

#include "kernels/crc32c.h"

#endif  // DFLOW_RUNTIME_CRC32C_H_
