/*  test_dbdir.c — the db directory checks (dbdir.h) and the event log's
    refusal to create a database over one, on real files. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "dbdir.h"
#include "eventlog.h"
#include "hearth_error.h"
#include "hearth_test.h"

static void
s_touch (const char *dir, const char *name, const char *text)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen (path, "w");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
}

static int
s_exists (const char *dir, const char *name)
{
    char path [1024];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    return access (path, F_OK) == 0;
}

HT_TEST (test_inspect_states)
{
    char *dir = ht_tmpdir ("dbdir");
    char sub [1024];
    snprintf (sub, sizeof sub, "%s/absent", dir);
    char *problem = NULL;
    HT_CHECK_EQ_INT (dbdir_inspect (sub, &problem), DBDIR_EMPTY);
    HT_CHECK (problem == NULL);
    /*  RocksDB's info log and lock alone are no database. */
    s_touch (dir, "LOG", "x");
    s_touch (dir, "LOCK", "");
    HT_CHECK_EQ_INT (dbdir_inspect (dir, NULL), DBDIR_EMPTY);
    /*  A table file without CURRENT: damaged, and the problem says so. */
    s_touch (dir, "000012.sst", "table");
    HT_CHECK_EQ_INT (dbdir_inspect (dir, &problem), DBDIR_DAMAGED);
    HT_CHECK (problem && strstr (problem, "CURRENT is missing") && strstr (problem, "1 table file"));
    free (problem);
    /*  CURRENT naming a missing manifest, then garbage, then a good one. */
    s_touch (dir, "CURRENT", "MANIFEST-000007\n");
    HT_CHECK_EQ_INT (dbdir_inspect (dir, &problem), DBDIR_DAMAGED);
    HT_CHECK (problem && strstr (problem, "MANIFEST-000007, which is missing"));
    free (problem);
    s_touch (dir, "CURRENT", "\x01\x02garbage");
    HT_CHECK_EQ_INT (dbdir_inspect (dir, &problem), DBDIR_DAMAGED);
    HT_CHECK (problem && strstr (problem, "CURRENT is damaged"));
    free (problem);
    s_touch (dir, "MANIFEST-000007", "manifest");
    s_touch (dir, "CURRENT", "MANIFEST-000007\n");
    HT_CHECK_EQ_INT (dbdir_inspect (dir, NULL), DBDIR_DATABASE);
    /*  Rewriting CURRENT picks the highest non-empty manifest. */
    s_touch (dir, "MANIFEST-000009", "newer");
    s_touch (dir, "MANIFEST-000011", "");
    unlink (strcat (strcpy (sub, dir), "/CURRENT"));
    HT_CHECK_EQ_INT (dbdir_current_rewrite (dir), 0);
    HT_CHECK_EQ_INT (dbdir_inspect (dir, NULL), DBDIR_DATABASE);
    FILE *file = fopen (sub, "r");
    char text [64] = "";
    if (file) {
        HT_CHECK (fgets (text, sizeof text, file) != NULL);
        fclose (file);
    }
    HT_CHECK_EQ_STR (text, "MANIFEST-000009\n");
    ht_rmtree (dir);
    free (dir);
}

HT_TEST (test_mark_roundtrip)
{
    char *dir = ht_tmpdir ("mark");
    uint64_t seq = 0;
    HT_CHECK_EQ_INT (dbdir_mark_read (dir, &seq), HEARTH_ENOTFOUND);
    int fd = dbdir_mark_open (dir);
    HT_CHECK (fd >= 0);
    HT_CHECK_EQ_INT (dbdir_mark_write (fd, 12345), 0);
    HT_CHECK_EQ_INT (dbdir_mark_read (dir, &seq), 0);
    HT_CHECK_EQ_INT (seq, 12345);
    /*  One flipped byte: unreadable, never a wrong number. */
    char byte = 0x7f;
    HT_CHECK_EQ_INT (pwrite (fd, &byte, 1, 3), 1);
    HT_CHECK_EQ_INT (dbdir_mark_read (dir, &seq), HEARTH_ECORRUPT);
    close (fd);
    ht_rmtree (dir);
    free (dir);
}

/*  Orphaned table files (CURRENT gone): the open fails the same way every
    time and leaves every file where it was; nothing is created. */
HT_TEST (test_open_never_creates_over_a_database)
{
    char *dir = ht_tmpdir ("orphans");
    int err = 0;
    eventlog_t *log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    eventlog_destroy (&log);
    /*  Reopen (RocksDB flushes at open) so table files exist. */
    log = eventlog_open (dir, &err);
    HT_CHECK (log != NULL);
    eventlog_destroy (&log);
    char current [1024];
    snprintf (current, sizeof current, "%s/CURRENT", dir);
    HT_CHECK_EQ_INT (unlink (current), 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        char *problem = NULL;
        log = eventlog_open_with (dir, NULL, &err, &problem);
        HT_CHECK (log == NULL);
        HT_CHECK_EQ_INT (err, HEARTH_ECORRUPT);
        HT_CHECK (problem && strstr (problem, "CURRENT is missing"));
        free (problem);
        HT_CHECK (!s_exists (dir, "CURRENT"));
        HT_CHECK (!s_exists (dir, "MANIFEST-000001"));
    }
    ht_rmtree (dir);
    free (dir);
}

int
main (void)
{
    HT_RUN (test_inspect_states);
    HT_RUN (test_mark_roundtrip);
    HT_RUN (test_open_never_creates_over_a_database);
    return ht_summary ();
}
