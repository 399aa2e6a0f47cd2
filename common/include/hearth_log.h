/*  hearth_log.h — the one logging wrapper of Hearth.

    Levels: ERROR < WARN < INFO < DEBUG. Lines go to stderr (or the log
    file, hearth_log_open_file) in one of three formats:
      text     "2026-11-25T09:21:35.123Z LEVEL [component] message"
      json     one JSON object a line: {"ts":"…","level":"info",
               "module":"component","msg":"…"} (+ "suppressed":N); the
               message is escaped (quotes, control bytes; invalid UTF-8
               becomes U+FFFD), so every line parses
      journal  text without the timestamp (journald stamps each line)
    With journald prefixes on (format journal, or stderr is the journal:
    hearth_log_journal_detect) every line starts with its sd-daemon
    priority "<3>" error, "<4>" warning, "<6>" info, "<7>" debug.
    Remote-triggered messages use hearth_log_limited(): at most one line per
    key per HEARTH_LOG_LIMIT_INTERVAL_MS, the rest counted and reported with
    the next line that passes. Never log secrets (seeds, private keys).
    Thread-safe: each line is written with one write(2), so lines of
    several threads never interleave; the settings are atomics.
*/
#ifndef HEARTH_LOG_H
#define HEARTH_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HEARTH_LOG_ERROR = 0,
    HEARTH_LOG_WARN  = 1,
    HEARTH_LOG_INFO  = 2,
    HEARTH_LOG_DEBUG = 3
} hearth_log_level_t;

typedef enum {
    HEARTH_LOG_FORMAT_TEXT    = 0,
    HEARTH_LOG_FORMAT_JSON    = 1,
    HEARTH_LOG_FORMAT_JOURNAL = 2
} hearth_log_format_t;

/*  Minimum interval between two lines with the same rate-limit key. */
#define HEARTH_LOG_LIMIT_INTERVAL_MS 1000
/*  Distinct rate-limit keys tracked; older keys are recycled round-robin. */
#define HEARTH_LOG_LIMIT_KEYS 64
/*  A message longer than this many bytes is truncated (messages are
    sentences; a rendered JSON line may be up to 6 times longer). */
#define HEARTH_LOG_MESSAGE_MAX 1024
/*  Bytes of structured fields (hearth_log_fields) at most. */
#define HEARTH_LOG_FIELDS_MAX 256
/*  Longest rendered line (hearth_log_render's buffer). */
#define HEARTH_LOG_LINE_MAX (HEARTH_LOG_MESSAGE_MAX * 6 + HEARTH_LOG_FIELDS_MAX + 256)

/*  Set the most verbose level printed (default INFO). */
void hearth_log_set_level (hearth_log_level_t level);
hearth_log_level_t hearth_log_level (void);
/*  Print no line at all while silent is set (a CLI that reports every
    failure itself, in its own words). */
void hearth_log_set_silent (int silent);
/*  Parse "error"|"warn"|"info"|"debug"; returns 0 or HEARTH_EINVAL. */
int  hearth_log_parse_level (const char *text, hearth_log_level_t *level);

/*  Parse "text"|"json"|"journal"; returns 0 or HEARTH_EINVAL. */
int  hearth_log_parse_format (const char *text, hearth_log_format_t *format);
/*  Its name ("text", "json", "journal"). */
const char *hearth_log_format_name (hearth_log_format_t format);
/*  Set the line format (default text). */
void hearth_log_set_format (hearth_log_format_t format);
hearth_log_format_t hearth_log_format (void);

/*  Journald priority prefixes on every line (also implied by the journal
    format). */
void hearth_log_set_journal (int on);
/*  1 if env (the value of $JOURNAL_STREAM, "DEV:INODE" in decimal, may be
    NULL) names the file with this device and inode, else 0. Pure. */
int  hearth_log_journal_stream_matches (const char *env, uint64_t dev, uint64_t ino);
/*  1 if fd is connected to the journal: $JOURNAL_STREAM names its device
    and inode (systemd sets it for a service's stdout/stderr). */
int  hearth_log_journal_detect (int fd);

/*  Log to the file at path (appended, created 0640) instead of stderr:
    the file is put in place of stderr (fd 2), so whatever else writes to
    stderr lands there too. NULL or "" keeps stderr. 0, or HEARTH_EIO
    (the old destination stays). */
int  hearth_log_open_file (const char *path);
/*  Open the log file's path again (after logrotate moved it); a no-op
    without a log file. 0 or HEARTH_EIO (the old file stays in use). */
int  hearth_log_reopen (void);
/*  The log file's path, "" when logging to stderr. Borrowed. */
const char *hearth_log_file (void);

/*  Render one line (newline included, NUL-terminated) into out (capacity
    cap, at least 64): the format and prefix given, time ts_ms (Unix ms),
    `suppressed` similar lines dropped before it (0: none), and in the json
    format the extra members `fields` (NULL: none; see hearth_log_fields).
    Returns its length. Pure: what the logger writes, for tests. */
size_t hearth_log_render (char *out, size_t cap, hearth_log_format_t format, int journal,
                          hearth_log_level_t level, const char *component, uint64_t ts_ms,
                          const char *message, uint64_t suppressed, const char *fields);

/*  A stream whose lines are logged: a line in one of CZMQ's log formats
    ("E: 26-12-07 05:01:52 text", "26-12-07 05:01:52 E (zconfig): text")
    at its level (E error, W warning, N and I info, D and T debug) under
    the name in parentheses or `component`; any other line at INFO. Give
    it to zsys_set_logstream (and as stdout, for zclock_log) so CZMQ's
    lines come out in this logger's format. Lives until the process ends.
    NULL on failure. */
FILE *hearth_log_capture_open (const char *component);

/*  Parse one captured line (see hearth_log_capture_open): its level, its
    component (into component, capacity cap; default_component when the
    line names none) and where its text starts. Pure. */
const char *hearth_log_capture_parse (const char *line, const char *default_component,
                                      hearth_log_level_t *level, char *component, size_t cap);

void hearth_log (hearth_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  As hearth_log, with structured fields for the json format: `fields` is
    JSON object members the caller renders, e.g. "\"fetched\":120,\"rate\":40"
    (numbers, or strings of characters that need no escaping); at most
    HEARTH_LOG_FIELDS_MAX bytes of printable ASCII without a backslash,
    else they are left out, so the line stays valid JSON. The text formats
    show only the message. */
void hearth_log_fields (hearth_log_level_t level, const char *component, const char *fields,
                        const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

/*  As hearth_log, but at most once per HEARTH_LOG_LIMIT_INTERVAL_MS per key
    (key: a static string such as "ingest.bad_signature"). */
void hearth_log_limited (hearth_log_level_t level, const char *component, const char *key,
                         const char *fmt, ...)
    __attribute__ ((format (printf, 4, 5)));

#define hlog_error(c, ...) hearth_log (HEARTH_LOG_ERROR, c, __VA_ARGS__)
#define hlog_warn(c, ...)  hearth_log (HEARTH_LOG_WARN,  c, __VA_ARGS__)
#define hlog_info(c, ...)  hearth_log (HEARTH_LOG_INFO,  c, __VA_ARGS__)
#define hlog_debug(c, ...) hearth_log (HEARTH_LOG_DEBUG, c, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif
