#!/usr/bin/env bash
# Installs dflow for use from other C++ projects (docs/install.md):
#   PREFIX/lib/libdflow.so                the whole engine, every op and kernel registered
#   PREFIX/include/dflow/{graph,ops,runtime,kernels,proto}/*.h   its public headers
#   PREFIX/lib/pkgconfig/dflow.pc         `pkg-config --cflags --libs dflow`
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: tools/install.sh [--from=DIR] PREFIX

Builds //dist:libdflow.so and //dist:dflow_headers with Bazel and installs the
shared library, the headers and a pkg-config file under PREFIX:

  PREFIX/lib/libdflow.so
  PREFIX/include/dflow/...        (#include "runtime/saved_model.h" etc.)
  PREFIX/lib/pkgconfig/dflow.pc

Then: PKG_CONFIG_PATH=PREFIX/lib/pkgconfig pkg-config --cflags --libs dflow
(the library is found at run time through the rpath dflow.pc adds).

  --from=DIR   install already-built files instead of running Bazel: DIR holds
               dist/libdflow.so, dist/dflow_headers.txt and the headers it lists
               (a Bazel runfiles tree, as //tests:install_test uses)
  --help       show this message

Exit status: 0 on success, 1 on any error.
USAGE
}

from=""
prefix=""
for arg in "$@"; do
  case "${arg}" in
    --help | -h) usage; exit 0 ;;
    --from=*) from=${arg#--from=} ;;
    -*) echo "install.sh: error: unknown flag '${arg}' (see --help)" >&2; exit 1 ;;
    *)
      if [[ -n ${prefix} ]]; then echo "install.sh: error: more than one PREFIX" >&2; exit 1; fi
      prefix=${arg}
      ;;
  esac
done
if [[ -z ${prefix} ]]; then usage >&2; exit 1; fi
mkdir -p "${prefix}"
prefix=$(cd "${prefix}" && pwd)

if [[ -n ${from} ]]; then
  src=$(cd "${from}" && pwd)
  gen=${src}
else
  cd "$(dirname "${BASH_SOURCE[0]}")/.."
  echo "install.sh: building //dist:libdflow.so //dist:dflow_headers"
  bazel build //dist:libdflow.so //dist:dflow_headers
  src=$(pwd)
  gen=$(bazel info bazel-bin 2>/dev/null)
fi

manifest=${gen}/dist/dflow_headers.txt
[[ -f ${manifest} ]] || { echo "install.sh: error: no ${manifest}" >&2; exit 1; }
[[ -f ${gen}/dist/libdflow.so ]] || { echo "install.sh: error: no ${gen}/dist/libdflow.so" >&2; exit 1; }

include=${prefix}/include/dflow
count=0
while IFS= read -r header; do
  [[ -n ${header} ]] || continue
  if [[ -f ${gen}/${header} ]]; then file=${gen}/${header}; else file=${src}/${header}; fi
  [[ -f ${file} ]] || { echo "install.sh: error: header ${header} not found" >&2; exit 1; }
  install -D -m 644 "${file}" "${include}/${header}"
  count=$((count + 1))
done < "${manifest}"
echo "install.sh: ${count} headers in ${include}"

install -D -m 755 "${gen}/dist/libdflow.so" "${prefix}/lib/libdflow.so"
echo "install.sh: ${prefix}/lib/libdflow.so"

# Debian ships .pc files for protobuf and each Abseil library, none for oneDNN or LevelDB: those
# are in libdflow.so's own dependencies (DT_NEEDED), needed on the link line only when linking
# statically (Libs.private).
mkdir -p "${prefix}/lib/pkgconfig"
cat > "${prefix}/lib/pkgconfig/dflow.pc" <<PC
prefix=${prefix}
libdir=\${prefix}/lib
includedir=\${prefix}/include/dflow

Name: dflow
Description: TensorFlow-1.x-compatible dataflow graph engine (graphs, checkpoints, SavedModels)
Version: 0.1.0
Requires: protobuf absl_status absl_statusor absl_strings absl_span absl_flat_hash_map absl_inlined_vector absl_function_ref
Libs: -L\${libdir} -Wl,-rpath,\${libdir} -ldflow
Libs.private: -ldnnl -lleveldb -lgomp -lpthread
Cflags: -I\${includedir}
PC
echo "install.sh: ${prefix}/lib/pkgconfig/dflow.pc"
