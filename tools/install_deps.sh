#!/usr/bin/env bash
# Installs the Debian 12 packages dflow's build needs, only those missing. Safe to run again:
# when everything is installed it changes nothing and needs no network.
#
#   tools/install_deps.sh
set -euo pipefail

PACKAGES=(
  bazel-bootstrap     # Bazel 4.2.3, offline
  bazel-rules-java    # @rules_java, which Bazel loads even for C++ builds
  bazel-platforms     # @platforms
  libprotobuf-dev
  protobuf-compiler
  libabsl-dev
  libdnnl-dev         # oneDNN
  libleveldb-dev      # the table format of TensorFlow's checkpoint index files
  libgtest-dev
  libgmock-dev        # a separate package on Debian 12 (libgmock.a)
  libbenchmark-dev
  zlib1g-dev
  libopenmpi-dev      # Open MPI, for the Horovod-compatible collectives (docs/distributed.md)
  openmpi-bin         # mpirun
  g++
)

missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "${package}" 2>/dev/null || true)
  if [[ ${status} != *"install ok installed"* ]]; then
    missing+=("${package}")
  fi
done

check_libraries() {
  local multiarch
  multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch 2>/dev/null \
              || echo x86_64-linux-gnu)
  for lib in libgmock.a libgtest.a; do
    if [[ ! -e /usr/lib/${multiarch}/${lib} ]]; then
      echo "install_deps: error: /usr/lib/${multiarch}/${lib} is missing; reinstall" \
           "libgtest-dev and libgmock-dev" >&2
      exit 1
    fi
  done
}

if [[ ${#missing[@]} -eq 0 ]]; then
  check_libraries
  echo "install_deps: all ${#PACKAGES[@]} packages are installed"
  exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "install_deps: error: missing packages (${missing[*]}) and not root, with no sudo;" \
         "run as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install_deps: installing ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  "${missing[@]}"
check_libraries
echo "install_deps: done"
