/*  hearth_fs.h — file-system helpers shared by the modules.

    hearth_mkdirs is `mkdir -p`: every missing directory of a path is
    created with one mode (the node keeps its data dir, keys and database
    0700: nothing in them is for other users). Directories that exist are
    left as they are, mode included; an existing path that is not a
    directory is an error.
*/
#ifndef HEARTH_FS_H
#define HEARTH_FS_H

#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*  Create path and its missing parents with mode (less the umask, as
    mkdir(2) does). 0, HEARTH_EINVAL (empty path), HEARTH_ENOMEM, or
    HEARTH_EIO with errno set by the mkdir that failed (ENOTDIR when path
    exists and is no directory), for the caller's message. */
int hearth_mkdirs (const char *path, mode_t mode);

#ifdef __cplusplus
}
#endif
#endif
