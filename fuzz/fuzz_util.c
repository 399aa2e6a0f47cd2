/*  fuzz_util.c — helpers shared by the fuzz targets (fuzz.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"
#include "hearth_log.h"

#define S_TMPDIRS_MAX 8

static char s_tmpdirs [S_TMPDIRS_MAX][512];
static int  s_n_tmpdirs;

static void
s_rm_rf (const char *path)
{
    DIR *dir = opendir (path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir (dir)) != NULL) {
            if (strcmp (e->d_name, ".") == 0 || strcmp (e->d_name, "..") == 0)
                continue;
            char child [1024];
            snprintf (child, sizeof child, "%s/%s", path, e->d_name);
            s_rm_rf (child);
        }
        closedir (dir);
        rmdir (path);
    }
    else
        unlink (path);
}

static void
s_cleanup (void)
{
    for (int i = 0; i < s_n_tmpdirs; i++)
        s_rm_rf (s_tmpdirs [i]);
    s_n_tmpdirs = 0;
}

const char *
fuzz_tmpdir (const char *name)
{
    if (s_n_tmpdirs == S_TMPDIRS_MAX)
        return NULL;
    const char *base = access ("/dev/shm", W_OK) == 0? "/dev/shm": getenv ("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *path = s_tmpdirs [s_n_tmpdirs];
    snprintf (path, sizeof s_tmpdirs [0], "%s/hearth-fuzz-%s-XXXXXX", base, name);
    if (!mkdtemp (path))
        return NULL;
    if (s_n_tmpdirs++ == 0)
        atexit (s_cleanup);
    return path;
}

void
fuzz_quiet (void)
{
    hearth_log_set_level (HEARTH_LOG_ERROR);
}

uint8_t
fuzz_u8 (fuzz_reader_t *r)
{
    return r->pos < r->size? r->data [r->pos++]: 0;
}

uint16_t
fuzz_u16 (fuzz_reader_t *r)
{
    uint16_t hi = fuzz_u8 (r);
    return (uint16_t) (hi << 8 | fuzz_u8 (r));
}

const uint8_t *
fuzz_part (fuzz_reader_t *r, size_t *len)
{
    size_t want = fuzz_u16 (r), left = r->size - r->pos;
    *len = want < left? want: left;
    const uint8_t *p = r->data + r->pos;
    r->pos += *len;
    return p;
}

void
fuzz_part_append (uint8_t **buf, size_t *size, const uint8_t *part, size_t len)
{
    if (len > 0xffff)
        len = 0xffff;
    uint8_t *b = (uint8_t *) realloc (*buf, *size + 2 + len);
    if (!b)
        abort ();
    b [*size] = (uint8_t) (len >> 8);
    b [*size + 1] = (uint8_t) len;
    if (len)
        memcpy (b + *size + 2, part, len);
    *buf = b;
    *size += 2 + len;
}
