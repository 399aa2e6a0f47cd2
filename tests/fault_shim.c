/*  fault_shim.c — an LD_PRELOAD library that gives hearthd a disk that
    fails the way real ones do, for the disk-full and power-loss tests.

    It acts only in a process named hearthd, and only on files under
    FAULT_SHIM_DIR (the event log's directory). Two modes, by environment:

    FAULT_SHIM_ENOSPC=PATH   while the file PATH exists, every write(2),
        pwrite, writev, pwritev, fallocate and posix_fallocate on a file
        under the directory fails with ENOSPC, as on a full disk; remove
        PATH and space is back. If PATH holds "sst", only table files
        fail (a full disk where the preallocated WAL still has room). The
        disk-full test uses it where it may not mount a small tmpfs.

    FAULT_SHIM_SHADOW=DIR    a disk that keeps only what was synced. At
        start and at every fsync/fdatasync of a file under the directory
        the shim records in DIR the synced bytes of that file (a copy,
        keyed by inode and birth time, so a reused inode number is a new
        file) and the directory's listing, name -> key. A power cut is a
        SIGKILL followed by tests/powercut_restore.py, which rebuilds the
        directory from the last listing and the copies: every file gets
        the bytes of its last fsync, or none if it was never synced, and
        every name that no fsync recorded is gone. That loses exactly the
        unsynced bytes. Directory entries count as durable at the next
        fsync of any file or of the directory (what a journaling file
        system such as ext4 does: the fsync commits the journal, with
        every earlier rename, create and unlink); file data only at its
        own file's fsync, which is the part a power cut takes away.

    Copies are written to a temporary name and renamed, so a SIGKILL
    inside the shim leaves the previous synced state, as an fsync that
    did not return may. Not a class of the product: test tooling only.
*/
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int s_active;                        /* hearthd with FAULT_SHIM_DIR set */
static char s_dir [PATH_MAX];               /* realpath of FAULT_SHIM_DIR */
static size_t s_dir_len;
static const char *s_enospc;                /* trigger file, or NULL */
static char s_shadow [PATH_MAX / 2];        /* "" = no power-loss mode */
static pthread_mutex_t s_listing_mutex = PTHREAD_MUTEX_INITIALIZER;

static ssize_t (*s_write) (int, const void *, size_t);
static ssize_t (*s_pwrite) (int, const void *, size_t, off_t);
static ssize_t (*s_pwrite64) (int, const void *, size_t, off64_t);
static ssize_t (*s_writev) (int, const struct iovec *, int);
static ssize_t (*s_pwritev) (int, const struct iovec *, int, off_t);
static int (*s_fallocate) (int, int, off_t, off_t);
static int (*s_posix_fallocate) (int, off_t, off_t);
static int (*s_fsync) (int);
static int (*s_fdatasync) (int);

/*  1 if fd is a file or directory under the directory. */
static int
s_under (int fd)
{
    if (!s_active || fd < 0)
        return 0;
    char link [64], path [PATH_MAX];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink (link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path [n] = 0;
    return (size_t) n >= s_dir_len && memcmp (path, s_dir, s_dir_len) == 0
        && (path [s_dir_len] == 0 || path [s_dir_len] == '/');
}

/*  The trigger file exists and names fd: empty = every file, "sst" =
    only table files (*.sst, and the snapshot writer's .sst.tmp), as on a
    disk where the preallocated WAL still has room but no new file fits. */
static int
s_full (int fd)
{
    if (!s_enospc || !s_under (fd))
        return 0;
    int t = open (s_enospc, O_RDONLY | O_CLOEXEC);
    if (t < 0)
        return 0;
    char what [8] = { 0 };
    ssize_t n = read (t, what, sizeof what - 1);
    close (t);
    if (n < 3 || memcmp (what, "sst", 3) != 0)
        return 1;
    char link [64], path [PATH_MAX];
    snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t len = readlink (link, path, sizeof path - 1);
    if (len <= 0)
        return 0;
    path [len] = 0;
    return strstr (path, ".sst") != NULL;
}

/*  Key of an inode: number and birth time (statx), so a reused inode
    number is another file. */
static int
s_key (int dirfd, const char *name, int fd, char *out, size_t cap)
{
    struct statx sx;
    unsigned mask = STATX_INO | STATX_BTIME | STATX_TYPE;
    int rc = fd >= 0? statx (fd, "", AT_EMPTY_PATH, mask, &sx)
                    : statx (dirfd, name? name: "", AT_SYMLINK_NOFOLLOW, mask, &sx);
    if (rc != 0)
        return -1;
    if (fd < 0 && !S_ISREG (sx.stx_mode))
        return -1;
    long long bs = (sx.stx_mask & STATX_BTIME)? (long long) sx.stx_btime.tv_sec: 0;
    long bn = (sx.stx_mask & STATX_BTIME)? (long) sx.stx_btime.tv_nsec: 0;
    snprintf (out, cap, "i%llu_%lld_%ld", (unsigned long long) sx.stx_ino, bs, bn);
    return 0;
}

/*  Write len bytes to a temp file in the shadow dir, then rename it to name. */
static void
s_shadow_put (const char *name, int src_fd, const char *text, size_t text_len)
{
    char tmp [PATH_MAX], final [PATH_MAX];
    snprintf (tmp, sizeof tmp, "%s/.tmp.%ld", s_shadow, (long) syscall (SYS_gettid));
    snprintf (final, sizeof final, "%s/%s", s_shadow, name);
    int out = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0)
        return;
    int ok = 1;
    if (src_fd >= 0) {
        char buf [65536];
        off_t off = 0;
        for (;;) {
            ssize_t n = pread (src_fd, buf, sizeof buf, off);
            if (n < 0) {
                ok = 0;
                break;
            }
            if (n == 0)
                break;
            if (s_write (out, buf, (size_t) n) != n) {
                ok = 0;
                break;
            }
            off += n;
        }
    }
    else
    if (s_write (out, text, text_len) != (ssize_t) text_len)
        ok = 0;
    close (out);
    if (ok)
        rename (tmp, final);
    else
        unlink (tmp);
}

/*  Record the directory's listing: "key name" per regular file. */
static void
s_record_listing (void)
{
    pthread_mutex_lock (&s_listing_mutex);
    DIR *dir = opendir (s_dir);
    if (!dir) {
        pthread_mutex_unlock (&s_listing_mutex);
        return;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = (char *) malloc (cap);
    struct dirent *e;
    while (text && (e = readdir (dir))) {
        char key [128];
        if (e->d_name [0] == '.' || s_key (dirfd (dir), e->d_name, -1, key, sizeof key) != 0)
            continue;
        size_t need = strlen (key) + strlen (e->d_name) + 3;
        if (len + need > cap) {
            char *bigger = (char *) realloc (text, cap * 2);
            if (!bigger)
                break;
            text = bigger;
            cap *= 2;
        }
        len += (size_t) snprintf (text + len, cap - len, "%s %s\n", key, e->d_name);
    }
    closedir (dir);
    if (text)
        s_shadow_put ("listing", -1, text, len);
    free (text);
    pthread_mutex_unlock (&s_listing_mutex);
}

/*  An fsync of fd under the directory is about to run: record its bytes
    (a file) and the listing. */
static void
s_synced (int fd)
{
    if (!s_shadow [0] || !s_under (fd))
        return;
    struct stat st;
    if (fstat (fd, &st) == 0 && S_ISREG (st.st_mode)) {
        char key [128];
        if (s_key (-1, NULL, fd, key, sizeof key) == 0) {
            char link [64];
            snprintf (link, sizeof link, "/proc/self/fd/%d", fd);
            /*  A read descriptor of our own: fd may be write-only. */
            int rfd = open (link, O_RDONLY | O_CLOEXEC);
            if (rfd >= 0) {
                s_shadow_put (key, rfd, NULL, 0);
                close (rfd);
            }
        }
    }
    s_record_listing ();
}

/*  At start: the directory as it is now is the durable state. */
static void
s_capture_base (void)
{
    DIR *dir = opendir (s_dir);
    if (!dir)
        return;
    struct dirent *e;
    while ((e = readdir (dir))) {
        char key [128];
        if (e->d_name [0] == '.' || s_key (dirfd (dir), e->d_name, -1, key, sizeof key) != 0)
            continue;
        int fd = openat (dirfd (dir), e->d_name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            s_shadow_put (key, fd, NULL, 0);
            close (fd);
        }
    }
    closedir (dir);
    s_record_listing ();
}

__attribute__ ((constructor)) static void
s_init (void)
{
    s_write = dlsym (RTLD_NEXT, "write");
    s_pwrite = dlsym (RTLD_NEXT, "pwrite");
    s_pwrite64 = dlsym (RTLD_NEXT, "pwrite64");
    s_writev = dlsym (RTLD_NEXT, "writev");
    s_pwritev = dlsym (RTLD_NEXT, "pwritev");
    s_fallocate = dlsym (RTLD_NEXT, "fallocate");
    s_posix_fallocate = dlsym (RTLD_NEXT, "posix_fallocate");
    s_fsync = dlsym (RTLD_NEXT, "fsync");
    s_fdatasync = dlsym (RTLD_NEXT, "fdatasync");
    const char *dir = getenv ("FAULT_SHIM_DIR");
    if (!dir || strcmp (program_invocation_short_name, "hearthd") != 0)
        return;
    if (!realpath (dir, s_dir))
        return;
    s_dir_len = strlen (s_dir);
    s_enospc = getenv ("FAULT_SHIM_ENOSPC");
    const char *shadow = getenv ("FAULT_SHIM_SHADOW");
    s_active = 1;
    if (shadow && *shadow) {
        mkdir (shadow, 0700);
        snprintf (s_shadow, sizeof s_shadow, "%s", shadow);
        s_capture_base ();
    }
}

ssize_t
write (int fd, const void *buf, size_t n)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_write (fd, buf, n);
}

ssize_t
pwrite (int fd, const void *buf, size_t n, off_t off)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_pwrite (fd, buf, n, off);
}

ssize_t
pwrite64 (int fd, const void *buf, size_t n, off64_t off)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_pwrite64 (fd, buf, n, off);
}

ssize_t
writev (int fd, const struct iovec *iov, int n)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_writev (fd, iov, n);
}

ssize_t
pwritev (int fd, const struct iovec *iov, int n, off_t off)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_pwritev (fd, iov, n, off);
}

int
fallocate (int fd, int mode, off_t off, off_t len)
{
    if (s_full (fd)) {
        errno = ENOSPC;
        return -1;
    }
    return s_fallocate (fd, mode, off, len);
}

int
posix_fallocate (int fd, off_t off, off_t len)
{
    if (s_full (fd))
        return ENOSPC;
    return s_posix_fallocate (fd, off, len);
}

int
fsync (int fd)
{
    s_synced (fd);
    return s_fsync (fd);
}

int
fdatasync (int fd)
{
    s_synced (fd);
    return s_fdatasync (fd);
}
