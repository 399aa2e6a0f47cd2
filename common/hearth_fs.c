/*  hearth_fs.c — file-system helpers; see hearth_fs.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hearth_error.h"
#include "hearth_fs.h"

int
hearth_mkdirs (const char *path, mode_t mode)
{
    if (!path || !*path) {
        errno = EINVAL;
        return HEARTH_EINVAL;
    }
    char *copy = strdup (path);
    if (!copy)
        return HEARTH_ENOMEM;
    int rc = HEARTH_OK;
    /*  Each '/' after the first character ends a parent; then the whole. */
    for (char *p = copy + 1; rc == HEARTH_OK; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir (copy, mode) != 0 && errno != EEXIST)
            rc = HEARTH_EIO;
        *p = c;
        if (!c)
            break;
    }
    struct stat st;
    if (rc == HEARTH_OK && (stat (path, &st) != 0 || !S_ISDIR (st.st_mode))) {
        errno = ENOTDIR;
        rc = HEARTH_EIO;
    }
    int saved = errno;
    free (copy);
    errno = saved;
    return rc;
}
