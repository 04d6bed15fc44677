// Training helpers over the Horovod collectives (docs/distributed.md).
#ifndef DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_
#define DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_

#include <cstdint>

#include "ops/scope.h"

namespace dflow {

// An op that sets every variable (VariableV2) in the scope's graph, on every rank, to
// root_rank's value, as horovod.tensorflow's broadcast_global_variables: one Assign of a
// HorovodBroadcast per variable. Run it once after the initializer, on every rank; build it
// after all variables exist (later ones are left out). Fails in the scope when there are none.
Operation BroadcastGlobalVariables(const Scope& scope, int64_t root_rank);

}  // namespace dflow

#endif  // DFLOW_OPS_COLLECTIVE_HOROVOD_TRAINING_H_
