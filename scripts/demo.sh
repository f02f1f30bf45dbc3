#!/bin/bash
# The README's first command ends here: starts the installed stack (berthd, which starts
# berth-lifecycled; scripts/stack.sh) and runs containers from the built-in default images with the
# berth CLI, as a docker user would.
# usage: demo.sh BIN_DIR   (the directory with the installed berth programs)
set -euo pipefail
bin=${1:?usage: demo.sh BIN_DIR}
here=$(dirname "$0")
"$here/stack.sh" start "$bin"
berth="$bin/berth -H unix:///run/berth/berth.sock"
$berth image inspect hello-world >/dev/null 2>&1 || "$here/default-image.sh" "$bin/berth-lifecycled"
echo "\$ berth run --rm hello-world"
$berth run --rm hello-world
echo "\$ berth run --rm busybox uname -a"
$berth run --rm busybox uname -a
echo
echo "The stack keeps running: 'berth ps', 'berth run -it busybox sh'; stop it with 'make stop'."
