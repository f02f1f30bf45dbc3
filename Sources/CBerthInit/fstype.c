#include <sys/vfs.h>
#include "berth_init.h"

long berth_fs_type(const char *path) {
    struct statfs st;
    if (statfs(path, &st) < 0) return -1;
    return (long)st.f_type;
}
