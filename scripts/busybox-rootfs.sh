#!/bin/bash
# Makes a busybox root file system from busybox-static, offline: /bin/busybox with a symlink per
# applet, /etc/passwd and /etc/group (root, nobody), /tmp (1777). Shared by make-bundle.sh and
# default-image.sh.
# usage: busybox-rootfs.sh DIR
set -euo pipefail
rootfs=${1:?usage: busybox-rootfs.sh DIR}
[ -x /bin/busybox ] || { echo "busybox-rootfs: /bin/busybox missing: install busybox-static (make deps)" >&2; exit 1; }
mkdir -p "$rootfs"/{bin,dev,etc,proc,sys,tmp,root}
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -sf busybox "$rootfs/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
chmod 1777 "$rootfs/tmp"
