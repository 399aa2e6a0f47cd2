/*  dbdir.c — the event log's RocksDB directory seen from outside RocksDB;
    see dbdir.h for the contract and the reasons.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <rocksdb/c.h>
#include "dbdir.h"
#include "hearth_error.h"

/*  CURRENT holds "MANIFEST-<number>\n": a few dozen bytes. More is damage. */
#define S_CURRENT_MAX  128
/*  Copy buffer. */
#define S_COPY_CHUNK   (256 * 1024)

static int
s_has_prefix (const char *name, const char *prefix)
{
    return strncmp (name, prefix, strlen (prefix)) == 0;
}

static int
s_has_suffix (const char *name, const char *suffix)
{
    size_t n = strlen (name), m = strlen (suffix);
    return n >= m && strcmp (name + n - m, suffix) == 0;
}

/*  Sets *problem to a malloc'd sentence (or leaves NULL on ENOMEM). */
static void
s_problem (char **problem, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_problem (char **problem, const char *fmt, ...)
{
    if (!problem)
        return;
    va_list args;
    va_start (args, fmt);
    if (vasprintf (problem, fmt, args) < 0)
        *problem = NULL;
    va_end (args);
}

/*  Checks CURRENT: 0 when it names a MANIFEST that exists and is not
    empty; otherwise sets *problem. */
static int
s_current_ok (const char *path, char **problem)
{
    char file [4096], text [S_CURRENT_MAX + 1];
    snprintf (file, sizeof file, "%s/CURRENT", path);
    int fd = open (file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_problem (problem, "%s/CURRENT cannot be read: %s", path, strerror (errno));
        return -1;
    }
    ssize_t n = read (fd, text, sizeof text);
    close (fd);
    if (n < 0) {
        s_problem (problem, "%s/CURRENT cannot be read: %s", path, strerror (errno));
        return -1;
    }
    text [n] = 0;
    size_t digits = 0;
    if (n > 10 && s_has_prefix (text, "MANIFEST-"))
        digits = strspn (text + 9, "0123456789");
    if (n > (ssize_t) S_CURRENT_MAX || digits == 0 || 9 + digits + 1 != (size_t) n
    ||  text [n - 1] != '\n') {
        s_problem (problem, "%s/CURRENT is damaged: it does not name a MANIFEST file (%zd byte(s))",
                   path, n);
        return -1;
    }
    text [n - 1] = 0;
    struct stat st;
    snprintf (file, sizeof file, "%s/%s", path, text);
    if (stat (file, &st) != 0 || st.st_size == 0) {
        s_problem (problem, "%s/CURRENT names %s, which is %s", path, text,
                   errno == ENOENT? "missing": "empty or unreadable");
        return -1;
    }
    return 0;
}

dbdir_state_t
dbdir_inspect (const char *path, char **problem)
{
    if (problem)
        *problem = NULL;
    DIR *dir = opendir (path);
    if (!dir) {
        if (errno == ENOENT)
            return DBDIR_EMPTY;
        s_problem (problem, "cannot read the directory %s: %s", path, strerror (errno));
        return DBDIR_DAMAGED;
    }
    size_t tables = 0, wals = 0, manifests = 0, others = 0;
    int current = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        const char *name = entry->d_name;
        if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0
        ||  strcmp (name, "LOCK") == 0 || strcmp (name, "LOG") == 0 || s_has_prefix (name, "LOG.old."))
            continue;               /* RocksDB's lock and info logs: no data */
        if (strcmp (name, "CURRENT") == 0)
            current = 1;
        else
        if (s_has_suffix (name, ".sst"))
            tables++;
        else
        if (s_has_suffix (name, ".log"))
            wals++;
        else
        if (s_has_prefix (name, "MANIFEST-"))
            manifests++;
        else
            others++;               /* OPTIONS-*, IDENTITY, the mark, lost/, ... */
    }
    closedir (dir);
    if (current)
        return s_current_ok (path, problem) == 0? DBDIR_DATABASE: DBDIR_DAMAGED;
    if (tables + wals + manifests + others == 0)
        return DBDIR_EMPTY;
    s_problem (problem, "%s/CURRENT is missing, but the directory holds a database (%zu table "
               "file(s), %zu write-ahead log(s), %zu manifest(s), %zu other file(s))",
               path, tables, wals, manifests, others);
    return DBDIR_DAMAGED;
}

/* ---- the synced-seq mark --------------------------------------------------- */

static void
s_put_be64 (uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p [i] = (uint8_t) v;
}

static uint64_t
s_get_be64 (const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p [i];
    return v;
}

int
dbdir_mark_read (const char *path, uint64_t *seq)
{
    char file [4096];
    snprintf (file, sizeof file, "%s/" DBDIR_MARK_FILE, path);
    int fd = open (file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT? HEARTH_ENOTFOUND: HEARTH_EIO;
    uint8_t buf [DBDIR_MARK_BYTES + 1];
    ssize_t n = read (fd, buf, sizeof buf);
    close (fd);
    if (n != DBDIR_MARK_BYTES || s_get_be64 (buf) != ~s_get_be64 (buf + 8))
        return HEARTH_ECORRUPT;
    *seq = s_get_be64 (buf);
    return 0;
}

int
dbdir_mark_open (const char *path)
{
    char file [4096];
    snprintf (file, sizeof file, "%s/" DBDIR_MARK_FILE, path);
    int fd = open (file, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    return fd < 0? HEARTH_EIO: fd;
}

int
dbdir_mark_write (int fd, uint64_t seq)
{
    uint8_t buf [DBDIR_MARK_BYTES];
    s_put_be64 (buf, seq);
    s_put_be64 (buf + 8, ~seq);
    if (pwrite (fd, buf, sizeof buf, 0) != (ssize_t) sizeof buf)
        return HEARTH_EIO;
    return 0;
}

int
dbdir_locked (const char *path)
{
    char file [4096];
    snprintf (file, sizeof file, "%s/LOCK", path);
    int fd = open (file, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock lock = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
    int held = fcntl (fd, F_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
    close (fd);
    return held;
}

/* ---- copy and repair -------------------------------------------------------- */

int
dbdir_current_rewrite (const char *path)
{
    DIR *dir = opendir (path);
    if (!dir)
        return HEARTH_EIO;
    unsigned long long best = 0;
    int found = 0;
    struct dirent *entry;
    char file [4096];
    while ((entry = readdir (dir))) {
        const char *name = entry->d_name;
        if (!s_has_prefix (name, "MANIFEST-") || !name [9]
        ||  strspn (name + 9, "0123456789") != strlen (name + 9))
            continue;
        struct stat st;
        snprintf (file, sizeof file, "%s/%s", path, name);
        if (stat (file, &st) != 0 || st.st_size == 0)
            continue;
        unsigned long long number = strtoull (name + 9, NULL, 10);
        if (!found || number > best) {
            best = number;
            found = 1;
        }
    }
    closedir (dir);
    if (!found)
        return HEARTH_ENOTFOUND;
    char text [64], tmp [4096];
    int len = snprintf (text, sizeof text, "MANIFEST-%06llu\n", best);
    snprintf (tmp, sizeof tmp, "%s/CURRENT.hearth-tmp", path);
    snprintf (file, sizeof file, "%s/CURRENT", path);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return HEARTH_EIO;
    int rc = write (fd, text, (size_t) len) == len && fsync (fd) == 0? 0: HEARTH_EIO;
    close (fd);
    if (rc == 0 && rename (tmp, file) != 0)
        rc = HEARTH_EIO;
    if (rc)
        unlink (tmp);
    return rc;
}

static int
s_copy_file (const char *from, const char *to)
{
    int in = open (from, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return HEARTH_EIO;
    int out = open (to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) {
        close (in);
        return HEARTH_EIO;
    }
    char *buf = malloc (S_COPY_CHUNK);
    int rc = buf? 0: HEARTH_ENOMEM;
    while (rc == 0) {
        ssize_t n = read (in, buf, S_COPY_CHUNK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = HEARTH_EIO;
            break;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n; ) {
            ssize_t w = write (out, buf + done, (size_t) (n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = errno == ENOSPC || errno == EDQUOT? HEARTH_ENOSPC: HEARTH_EIO;
                break;
            }
            done += w;
        }
    }
    if (rc == 0 && fsync (out) != 0)
        rc = errno == ENOSPC? HEARTH_ENOSPC: HEARTH_EIO;
    free (buf);
    close (in);
    if (close (out) != 0 && rc == 0)
        rc = HEARTH_EIO;
    return rc;
}

static int
s_remove_one (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    return (flag == FTW_DP? rmdir (path): unlink (path)) == 0? 0: -1;
}

int
dbdir_remove (const char *path)
{
    /*  Depth first, never following symlinks; 16 open directories at most. */
    return nftw (path, s_remove_one, 16, FTW_DEPTH | FTW_PHYS) == 0? 0: HEARTH_EIO;
}

int
dbdir_copy (const char *src, const char *dst)
{
    if (mkdir (dst, 0700) != 0)
        return errno == EEXIST? HEARTH_EEXISTS: errno == ENOSPC? HEARTH_ENOSPC: HEARTH_EIO;
    DIR *dir = opendir (src);
    if (!dir) {
        rmdir (dst);
        return HEARTH_EIO;
    }
    int rc = 0;
    struct dirent *entry;
    char from [4096], to [4096];
    while (rc == 0 && (entry = readdir (dir))) {
        if (strcmp (entry->d_name, "LOCK") == 0)
            continue;
        snprintf (from, sizeof from, "%s/%s", src, entry->d_name);
        struct stat st;
        if (stat (from, &st) != 0 || !S_ISREG (st.st_mode))
            continue;
        snprintf (to, sizeof to, "%s/%s", dst, entry->d_name);
        rc = s_copy_file (from, to);
    }
    closedir (dir);
    if (rc == 0) {
        int fd = open (dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            fsync (fd);
            close (fd);
        }
    }
    else
        dbdir_remove (dst);
    return rc;
}

int
dbdir_repair (const char *path, char **problem)
{
    if (problem)
        *problem = NULL;
    rocksdb_options_t *options = rocksdb_options_create ();
    if (!options)
        return HEARTH_ENOMEM;
    char *err = NULL;
    rocksdb_repair_db (options, path, &err);
    rocksdb_options_destroy (options);
    if (!err)
        return 0;
    int rc = hearth_error_from_storage (err);
    if (problem)
        *problem = strdup (err);
    rocksdb_free (err);
    return rc;
}
