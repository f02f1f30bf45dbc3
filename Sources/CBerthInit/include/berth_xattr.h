// xattr listing for BerthOS (<sys/xattr.h> is not part of the Glibc module Swift sees).
#pragma once
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// llistxattr(2): the NUL-separated names of `path`'s xattrs (a final symlink is not followed).
/// Bytes written (or needed when size is 0), or -1 with errno.
long berth_llistxattr(const char *path, char *list, size_t size);

#ifdef __cplusplus
}
#endif
