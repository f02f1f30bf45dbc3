// llistxattr for BerthOS's tree walks (layer diffs, exports, docker cp), which copy every xattr.
#define _GNU_SOURCE
#include "berth_xattr.h"

#include <sys/xattr.h>

long berth_llistxattr(const char *path, char *list, size_t size) { return (long)llistxattr(path, list, size); }
