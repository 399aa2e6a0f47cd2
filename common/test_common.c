/*  test_common.c — unit tests for the error table, codecs, logger and heap
    policy. */
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include "../tests/hearth_test.h"
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_fs.h"
#include "hearth_json.h"
#include "hearth_log.h"
#include "hearth_memory.h"
#include "hearth_vec.h"

HT_TEST (test_error_codes_cover_contract)
{
    HT_CHECK_EQ_STR (hearth_error_code (HEARTH_EINVAL), "bad_request");
    HT_CHECK_EQ_STR (hearth_error_code (HEARTH_ENOTFOUND), "not_found");
    HT_CHECK_EQ_STR (hearth_error_code (HEARTH_EUNAUTHORIZED), "unauthorized");
    HT_CHECK_EQ_STR (hearth_error_code (HEARTH_EUNAVAILABLE), "partition");
    HT_CHECK_EQ_STR (hearth_error_code (-999), "internal_error");
    for (int e = 0; e >= HEARTH_ERROR_MIN; e--) {
        HT_CHECK (strcmp (hearth_strerror (e), "unknown error") != 0);
        HT_CHECK (strcmp (hearth_error_name (e), "EUNKNOWN") != 0);
    }
}

/*  RocksDB status texts as the library renders them: each names its cause.
    "block checksum mismatch" once read as a lock error. */
HT_TEST (test_storage_errors_classified)
{
    HT_CHECK_EQ_INT (hearth_error_from_storage ("IO error: No space left on device: While appending "
                                               "to file: /d/db/000012.log"), HEARTH_ENOSPC);
    HT_CHECK_EQ_INT (hearth_error_from_storage ("IO error: Disk quota exceeded"), HEARTH_ENOSPC);
    HT_CHECK_EQ_INT (hearth_error_from_storage ("Corruption: block checksum mismatch: stored = 1, "
                                               "computed = 2 in /d/db/000009.sst"), HEARTH_ECORRUPT);
    HT_CHECK_EQ_INT (hearth_error_from_storage ("IO error: While lock file: /d/db/LOCK: Resource "
                                               "temporarily unavailable"), HEARTH_ELOCKED);
    HT_CHECK_EQ_INT (hearth_error_from_storage ("IO error: While open a file for random read: "
                                               "/d/db/000009.sst: Input/output error"), HEARTH_EIO);
    HT_CHECK_EQ_INT (hearth_error_from_storage (NULL), HEARTH_EIO);
    HT_CHECK_EQ_STR (hearth_error_code (HEARTH_ENOSPC), "capacity_exceeded");
}

HT_TEST (test_b64url_roundtrip_and_rejects)
{
    uint8_t in [40], out [40];
    for (int i = 0; i < 40; i++)
        in [i] = (uint8_t) (i * 37 + 11);
    for (size_t n = 0; n <= 40; n++) {
        char text [64];
        hearth_b64url_encode (in, n, text);
        HT_CHECK_EQ_INT (strlen (text), hearth_b64url_len (n));
        HT_CHECK_EQ_INT (hearth_b64url_decode (text, out, sizeof out), n);
        HT_CHECK (memcmp (in, out, n) == 0);
    }
    HT_CHECK_EQ_INT (hearth_b64url_decode ("AB=", out, sizeof out), -1);    /* padding */
    HT_CHECK_EQ_INT (hearth_b64url_decode ("A", out, sizeof out), -1);      /* bad length */
    HT_CHECK_EQ_INT (hearth_b64url_decode ("AQ", out, sizeof out), 1);
    HT_CHECK_EQ_INT (hearth_b64url_decode ("AB", out, sizeof out), -1);     /* stray bits */
    HT_CHECK_EQ_INT (hearth_b64url_decode ("a+b/", out, sizeof out), -1);   /* std alphabet */
    HT_CHECK_EQ_INT (hearth_b64url_decode ("AAAAAAAA", out, 5), -1);        /* overflow */
}

HT_TEST (test_node_ids)
{
    uint8_t key [32], back [32];
    for (int i = 0; i < 32; i++)
        key [i] = (uint8_t) (255 - i);
    char full [HEARTH_NODE_ID_SIZE], shortid [HEARTH_SHORT_ID_SIZE];
    hearth_node_id_format (key, full);
    HT_CHECK_EQ_INT (strlen (full), 51);
    HT_CHECK (strncmp (full, "ed25519:", 8) == 0);
    HT_CHECK_EQ_INT (hearth_node_id_parse (full, back), 0);
    HT_CHECK (memcmp (key, back, 32) == 0);
    HT_CHECK_EQ_INT (hearth_node_id_parse ("ed25519:short", back), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (hearth_node_id_parse (full + 1, back), HEARTH_EINVAL);

    hearth_short_id_format (key, shortid);
    regex_t re;
    HT_CHECK (regcomp (&re, "^ed25519:[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$", REG_EXTENDED) == 0);
    HT_CHECK (regexec (&re, shortid, 0, NULL, 0) == 0);
    regfree (&re);
    memset (key, 0, 32);
    hearth_short_id_format (key, shortid);
    HT_CHECK_EQ_STR (shortid, "ed25519:AAAA-AAAA-AAAA-AAAA");
}

HT_TEST (test_time_format)
{
    char text [HEARTH_TIME_SIZE];
    hearth_time_format (UINT64_C (1779783262000), text);
    HT_CHECK_EQ_STR (text, "2026-05-26T08:14:22Z");
    hearth_time_format_ms (UINT64_C (1779783262123), text);
    HT_CHECK_EQ_STR (text, "2026-05-26T08:14:22.123Z");
    hearth_time_format (UINT64_MAX, text);
    HT_CHECK_EQ_STR (text, "9999-12-31T23:59:59Z");
}

HT_TEST (test_tcp_endpoints)
{
    HT_CHECK (hearth_tcp_endpoint_valid ("tcp://127.0.0.1:7400", 0));
    HT_CHECK (hearth_tcp_endpoint_valid ("tcp://school.local:65535", 0));
    HT_CHECK (hearth_tcp_endpoint_valid ("tcp://*:*", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://*:*", 0));        /* no wildcard port to dial */
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://host:0", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://host:65536", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://host:74a0", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://host:", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://:7400", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("udp://host:7400", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://ho st:7400", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://a/b:7400", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://a@b:7400", 1));
    HT_CHECK (!hearth_tcp_endpoint_valid ("tcp://h\xc3\xa4:7400", 1));
}

HT_TEST (test_utf8)
{
    { const char *w = "Wasser \xc3\xa4 \xe2\x82\xac \xf0\x9f\x98\x80"; HT_CHECK (hearth_utf8_valid (w, strlen (w))); }
    HT_CHECK (!hearth_utf8_valid ("\xc0\xaf", 2));           /* overlong */
    HT_CHECK (!hearth_utf8_valid ("\xed\xa0\x80", 3));       /* surrogate */
    HT_CHECK (!hearth_utf8_valid ("\xe2\x82", 2));           /* truncated */
    HT_CHECK (!hearth_utf8_valid ("a\0b", 3));               /* NUL */
    HT_CHECK (!hearth_utf8_valid ("\xf4\x90\x80\x80", 4));   /* > U+10FFFF */
}

HT_TEST (test_log_levels_and_limit)
{
    hearth_log_level_t level;
    HT_CHECK_EQ_INT (hearth_log_parse_level ("debug", &level), 0);
    HT_CHECK_EQ_INT (level, HEARTH_LOG_DEBUG);
    HT_CHECK_EQ_INT (hearth_log_parse_level ("loud", &level), HEARTH_EINVAL);
    /*  Prints one line, suppresses the rest within the interval. */
    for (int i = 0; i < 5; i++)
        hearth_log_limited (HEARTH_LOG_WARN, "test", "test.limited", "limited line %d", i);
}


/*  JSON lines stay valid whatever the message holds; journald prefixes;
    the JOURNAL_STREAM check; CZMQ's two line formats parsed. */
HT_TEST (test_log_render_formats)
{
    char line [HEARTH_LOG_LINE_MAX];
    size_t n = hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JSON, 0, HEARTH_LOG_WARN,
                                  "mod\"x", 0, "a \"quote\"\nnew\tline \x01 \xff\xc3 \xc3\xa4 \\", 3, NULL);
    HT_CHECK (n == strlen (line));
    HT_CHECK_EQ_STR (line, "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"warn\",\"module\":\"mod\\\"x\","
                     "\"msg\":\"a \\\"quote\\\"\\nnew\\tline \\u0001 \xef\xbf\xbd\xef\xbf\xbd \xc3\xa4 \\\\\","
                     "\"suppressed\":3}\n");
    hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_TEXT, 1, HEARTH_LOG_ERROR, "c", 0, "x\ny", 0, NULL);
    HT_CHECK_EQ_STR (line, "<3>1970-01-01T00:00:00.000Z ERROR [c] x y\n");
    hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JOURNAL, 0, HEARTH_LOG_DEBUG, "c", 0, "m", 0, "\"n\":1");
    HT_CHECK_EQ_STR (line, "<7>DEBUG [c] m\n");
    hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JSON, 1, HEARTH_LOG_INFO, "c", 0, "m", 0, NULL);
    HT_CHECK (strncmp (line, "<6>{", 4) == 0);
    /*  Structured fields: in the JSON object; unsafe ones left out. */
    hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JSON, 0, HEARTH_LOG_INFO, "c", 0, "m", 2,
                       "\"fetched\":120,\"peer\":\"ed25519:AB-CD\"");
    HT_CHECK_EQ_STR (line, "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"info\",\"module\":\"c\","
                     "\"msg\":\"m\",\"fetched\":120,\"peer\":\"ed25519:AB-CD\",\"suppressed\":2}\n");
    const char *unsafe [] = { "\"a\":\"b\\\"", "\"a\":\"b", "\"a\":1\n", "\"a\":\"\xc3\xa4\"", "" };
    for (size_t i = 0; i < sizeof unsafe / sizeof unsafe [0]; i++) {
        hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JSON, 0, HEARTH_LOG_INFO, "c", 0, "m", 0,
                           unsafe [i]);
        HT_CHECK_EQ_STR (line, "{\"ts\":\"1970-01-01T00:00:00.000Z\",\"level\":\"info\",\"module\":\"c\","
                         "\"msg\":\"m\"}\n");
    }
    /*  A message at the size limit, all quotes: still one closed object. */
    char big [HEARTH_LOG_MESSAGE_MAX];
    memset (big, '"', sizeof big - 1);
    big [sizeof big - 1] = 0;
    n = hearth_log_render (line, sizeof line, HEARTH_LOG_FORMAT_JSON, 0, HEARTH_LOG_INFO, "c", 0, big, 9, "\"k\":1");
    HT_CHECK (n < sizeof line && line [n - 1] == '\n' && strstr (line, "\"k\":1,\"suppressed\":9}"));
    hearth_log_format_t format;
    HT_CHECK_EQ_INT (hearth_log_parse_format ("json", &format), 0);
    HT_CHECK_EQ_INT (format, HEARTH_LOG_FORMAT_JSON);
    HT_CHECK_EQ_INT (hearth_log_parse_format ("xml", &format), HEARTH_EINVAL);
    HT_CHECK (hearth_log_journal_stream_matches ("8:12345", 8, 12345));
    HT_CHECK (!hearth_log_journal_stream_matches ("8:12345", 8, 12346));
    HT_CHECK (!hearth_log_journal_stream_matches ("8:", 8, 0));
    HT_CHECK (!hearth_log_journal_stream_matches ("8:1x", 8, 1));
    HT_CHECK (!hearth_log_journal_stream_matches (NULL, 0, 0));
    HT_CHECK (!hearth_log_journal_stream_matches ("", 0, 0));
    hearth_log_level_t level;
    char component [32];
    const char *text = hearth_log_capture_parse ("E: 26-12-07 05:01:52 bind failed", "czmq", &level,
                                                 component, sizeof component);
    HT_CHECK_EQ_STR (text, "bind failed");
    HT_CHECK_EQ_INT (level, HEARTH_LOG_ERROR);
    HT_CHECK_EQ_STR (component, "czmq");
    text = hearth_log_capture_parse ("W: (ident) 26-12-07 05:01:52 careful", "czmq", &level,
                                     component, sizeof component);
    HT_CHECK_EQ_STR (text, "careful");
    HT_CHECK_EQ_INT (level, HEARTH_LOG_WARN);
    text = hearth_log_capture_parse ("26-12-07 05:01:54 E (zconfig): (2) missing \"", "czmq", &level,
                                     component, sizeof component);
    HT_CHECK_EQ_STR (text, "(2) missing \"");
    HT_CHECK_EQ_INT (level, HEARTH_LOG_ERROR);
    HT_CHECK_EQ_STR (component, "zconfig");
    text = hearth_log_capture_parse ("plain words", "czmq", &level, component, sizeof component);
    HT_CHECK_EQ_STR (text, "plain words");
    HT_CHECK_EQ_INT (level, HEARTH_LOG_INFO);
}

#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
static void *volatile s_sink;               /* the blocks escape: no allocation is elided */
#endif

/*  After the setup a block of 4 MiB (more than the heap's free top in this
    small process) is mapped, returned to the OS on free, even after a
    bigger mapped block was freed, which without the setup raises glibc's
    threshold past it (the block then comes from the heap). Not under the
    sanitizers, whose allocator ignores mallopt. */
HT_TEST (test_memory_setup_pins_mmap_threshold)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
    HT_CHECK_EQ_INT (hearth_memory_setup (), 0);
    s_sink = malloc (8u << 20);
    free (s_sink);
    size_t before = mallinfo2 ().hblkhd;
    s_sink = malloc (4u << 20);
    HT_CHECK (s_sink != NULL);
    HT_CHECK (mallinfo2 ().hblkhd >= before + (4u << 20));
    free (s_sink);
    HT_CHECK_EQ_INT (mallinfo2 ().hblkhd, before);
    hearth_memory_release ();
#endif
}

#if defined(__GLIBC__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
/*  Resident pages of this process (0 if unknown). */
static size_t
s_resident_pages (void)
{
    FILE *f = fopen ("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f && fscanf (f, "%lu %lu", &size, &resident) != 2)
        resident = 0;
    if (f)
        fclose (f);
    return (size_t) resident;
}
#endif

/*  Freed heap in the middle of the arena (below a live chunk, so never
    trimmed by free itself) leaves RSS after the release. 32 MiB in 64 KiB
    chunks, under the mmap threshold. Not under the sanitizers, whose
    allocator has its own policy. */
HT_TEST (test_memory_release_returns_freed_heap)
{
#if defined(__GLIBC__) && defined(__linux__) && !defined(__SANITIZE_ADDRESS__)
    enum { CHUNKS = 512, CHUNK = 64 * 1024 };
    static char *chunks [CHUNKS];
    for (size_t i = 0; i < CHUNKS; i++) {
        chunks [i] = (char *) malloc (CHUNK);
        HT_CHECK (chunks [i] != NULL);
        if (chunks [i])
            memset (chunks [i], (int) i, CHUNK);
        s_sink = chunks [i];
    }
    for (size_t i = 0; i + 1 < CHUNKS; i++)
        free (chunks [i]);
    size_t before = s_resident_pages ();
    hearth_memory_release ();
    size_t after = s_resident_pages ();
    long page = sysconf (_SC_PAGESIZE);
    HT_CHECK (before > 0 && page > 0);
    HT_CHECK (after + (size_t) (16u << 20) / (size_t) page <= before);
    free (chunks [CHUNKS - 1]);
#endif
}

/*  mkdir -p: parents created with the mode, existing ones kept, a file in
    the way refused with errno. */
HT_TEST (test_mkdirs)
{
    char base [] = "/tmp/hearth-fs-XXXXXX";
    HT_CHECK (mkdtemp (base) != NULL);
    char deep [512], file [256];
    snprintf (deep, sizeof deep, "%s/a/b//c/", base);
    HT_CHECK_EQ_INT (hearth_mkdirs (deep, 0700), HEARTH_OK);
    struct stat st;
    snprintf (deep, sizeof deep, "%s/a/b/c", base);
    HT_CHECK (stat (deep, &st) == 0 && S_ISDIR (st.st_mode) && (st.st_mode & 077) == 0);
    HT_CHECK_EQ_INT (hearth_mkdirs (deep, 0700), HEARTH_OK);       /* again: fine */
    snprintf (file, sizeof file, "%s/a/file", base);
    FILE *f = fopen (file, "w");
    HT_CHECK (f != NULL);
    if (f)
        fclose (f);
    HT_CHECK_EQ_INT (hearth_mkdirs (file, 0700), HEARTH_EIO);
    HT_CHECK_EQ_INT (errno, ENOTDIR);
    snprintf (deep, sizeof deep, "%s/under", file);
    HT_CHECK_EQ_INT (hearth_mkdirs (deep, 0700), HEARTH_EIO);
    HT_CHECK_EQ_INT (hearth_mkdirs ("", 0700), HEARTH_EINVAL);
    HT_CHECK_EQ_INT (hearth_mkdirs (NULL, 0700), HEARTH_EINVAL);
    char command [300];
    snprintf (command, sizeof command, "rm -rf '%s'", base);
    HT_CHECK (system (command) == 0);
}

/*  The shared dump flags: compact, and a typed decimal prints as typed. */
HT_TEST (test_json_flags)
{
    json_t *value = json_pack ("{s:f, s:f, s:i}", "lat", 52.52, "small", 0.1, "n", 7);
    char *text = json_dumps (value, HEARTH_JSON_FLAGS);
    HT_CHECK_EQ_STR (text, "{\"lat\":52.52,\"small\":0.1,\"n\":7}");
    free (text);
    json_decref (value);
}

/*  Growing arrays: doubling from min_cap, contents kept, overflow refused
    with the array untouched. */
HT_TEST (test_vec_reserve)
{
    uint32_t *items = NULL;
    size_t cap = 0;
    for (uint32_t i = 0; i < 1000; i++) {
        uint32_t *grown = hearth_vec_reserve (items, &cap, i + 1, sizeof *grown, 4);
        HT_CHECK (grown != NULL);
        if (!grown)
            break;
        items = grown;
        items [i] = i;
    }
    HT_CHECK_EQ_INT (cap, 1024);
    int same = 1;
    for (uint32_t i = 0; i < 1000; i++)
        same &= items [i] == i;
    HT_CHECK (same);
    /*  Enough room: the same block, capacity unchanged. */
    HT_CHECK (hearth_vec_reserve (items, &cap, 1024, sizeof *items, 4) == items);
    HT_CHECK_EQ_INT (cap, 1024);
    /*  Byte sizes past SIZE_MAX: NULL, nothing changed. */
    HT_CHECK (hearth_vec_reserve (items, &cap, SIZE_MAX / 2, sizeof *items, 4) == NULL);
    HT_CHECK_EQ_INT (cap, 1024);
    HT_CHECK_EQ_INT (items [999], 999);
    size_t none = 0;
    HT_CHECK (hearth_vec_reserve (NULL, &none, SIZE_MAX / 8 + 1, 8, 4) == NULL);
    HT_CHECK_EQ_INT (none, 0);
    free (items);
    /*  The typed form: element size from the pointer, 0 / HEARTH_ENOMEM. */
    struct { double *values; size_t n, cap; } list = { NULL, 0, 0 };
    for (int i = 0; i < 100; i++) {
        HT_CHECK_EQ_INT (HEARTH_VEC_GROW (list.values, list.cap, list.n + 1, 8), 0);
        list.values [list.n++] = i / 2.0;
    }
    HT_CHECK_EQ_INT (list.cap, 128);
    HT_CHECK (list.values [99] == 49.5);
    HT_CHECK_EQ_INT (HEARTH_VEC_GROW (list.values, list.cap, SIZE_MAX, 8), HEARTH_ENOMEM);
    HT_CHECK_EQ_INT (list.cap, 128);
    free (list.values);
}

int
main (void)
{
    HT_RUN (test_error_codes_cover_contract);
    HT_RUN (test_storage_errors_classified);
    HT_RUN (test_b64url_roundtrip_and_rejects);
    HT_RUN (test_node_ids);
    HT_RUN (test_time_format);
    HT_RUN (test_utf8);
    HT_RUN (test_tcp_endpoints);
    HT_RUN (test_log_levels_and_limit);
    HT_RUN (test_log_render_formats);
    HT_RUN (test_memory_setup_pins_mmap_threshold);
    HT_RUN (test_memory_release_returns_freed_heap);
    HT_RUN (test_mkdirs);
    HT_RUN (test_json_flags);
    HT_RUN (test_vec_reserve);
    return ht_summary ();
}
