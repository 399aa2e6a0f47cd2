/*  hearth_log.c — levelled, rate-limited logging to stderr or a log file,
    as text, JSON lines or journald-prefixed text.

    Invariant: a line is rendered into one buffer and written with one
    write(2) on fd 2, so lines from several threads never interleave
    mid-line. A log file is dup2'ed onto fd 2 (and again on reopen), so
    the fd every thread writes to never changes number. The rate-limit
    table and the log file's path are guarded by mutexes; the settings
    read on every line are atomics.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"

static _Atomic int s_level = HEARTH_LOG_INFO;
static _Atomic int s_silent;          /* hearth_log_set_silent: print nothing */
static _Atomic int s_format = HEARTH_LOG_FORMAT_TEXT;
static _Atomic int s_journal;         /* journald priority prefixes */
static const char *s_level_names [] = { "ERROR", "WARN", "INFO", "DEBUG" };
static const char *s_level_json [] = { "error", "warn", "info", "debug" };
static const char *s_format_names [] = { "text", "json", "journal" };
/*  sd-daemon.h priorities: SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG. */
static const int s_priorities [] = { 3, 4, 6, 7 };

static char s_file [4096];            /* log file path, "" = stderr as given */
static pthread_mutex_t s_file_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    const char *key;          /* static string; compared by content */
    uint64_t    last_ms;      /* monotonic ms of the last line printed */
    uint64_t    suppressed;   /* lines dropped since */
} s_limit_t;

static s_limit_t s_limits [HEARTH_LOG_LIMIT_KEYS];
static size_t s_limits_next;
static pthread_mutex_t s_limits_lock = PTHREAD_MUTEX_INITIALIZER;

void
hearth_log_set_level (hearth_log_level_t level)
{
    if (level >= HEARTH_LOG_ERROR && level <= HEARTH_LOG_DEBUG)
        s_level = level;
}

hearth_log_level_t
hearth_log_level (void)
{
    return (hearth_log_level_t) s_level;
}

void
hearth_log_set_silent (int silent)
{
    s_silent = silent;
}

int
hearth_log_parse_level (const char *text, hearth_log_level_t *level)
{
    static const char *names [] = { "error", "warn", "info", "debug" };
    for (int i = 0; text && i < 4; i++)
        if (strcasecmp (text, names [i]) == 0) {
            *level = (hearth_log_level_t) i;
            return HEARTH_OK;
        }
    return HEARTH_EINVAL;
}

int
hearth_log_parse_format (const char *text, hearth_log_format_t *format)
{
    for (int i = 0; text && i < 3; i++)
        if (strcmp (text, s_format_names [i]) == 0) {
            *format = (hearth_log_format_t) i;
            return HEARTH_OK;
        }
    return HEARTH_EINVAL;
}

const char *
hearth_log_format_name (hearth_log_format_t format)
{
    return format >= HEARTH_LOG_FORMAT_TEXT && format <= HEARTH_LOG_FORMAT_JOURNAL?
           s_format_names [format]: "text";
}

void
hearth_log_set_format (hearth_log_format_t format)
{
    if (format >= HEARTH_LOG_FORMAT_TEXT && format <= HEARTH_LOG_FORMAT_JOURNAL)
        s_format = format;
}

hearth_log_format_t
hearth_log_format (void)
{
    return (hearth_log_format_t) s_format;
}

void
hearth_log_set_journal (int on)
{
    s_journal = on != 0;
}

int
hearth_log_journal_stream_matches (const char *env, uint64_t dev, uint64_t ino)
{
    if (!env || env [0] < '0' || env [0] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long env_dev = strtoull (env, &end, 10);
    if (errno || !end || *end != ':' || end [1] < '0' || end [1] > '9')
        return 0;
    const char *rest = end + 1;
    unsigned long long env_ino = strtoull (rest, &end, 10);
    if (errno || !end || *end)
        return 0;
    return env_dev == dev && env_ino == ino;
}

int
hearth_log_journal_detect (int fd)
{
    struct stat st;
    if (fstat (fd, &st) != 0)
        return 0;
    return hearth_log_journal_stream_matches (getenv ("JOURNAL_STREAM"), (uint64_t) st.st_dev,
                                              (uint64_t) st.st_ino);
}

/*  Open path for appending and put it in place of fd 2. */
static int
s_file_install (const char *path)
{
    int fd = open (path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return HEARTH_EIO;
    int rc = fd == STDERR_FILENO? 0: dup2 (fd, STDERR_FILENO);
    if (fd != STDERR_FILENO)
        close (fd);
    return rc < 0? HEARTH_EIO: HEARTH_OK;
}

int
hearth_log_open_file (const char *path)
{
    if (!path || !*path)
        return HEARTH_OK;
    if (strlen (path) >= sizeof s_file)
        return HEARTH_EIO;
    pthread_mutex_lock (&s_file_lock);
    int rc = s_file_install (path);
    if (rc == HEARTH_OK)
        snprintf (s_file, sizeof s_file, "%s", path);
    pthread_mutex_unlock (&s_file_lock);
    return rc;
}

int
hearth_log_reopen (void)
{
    pthread_mutex_lock (&s_file_lock);
    int rc = s_file [0]? s_file_install (s_file): HEARTH_OK;
    pthread_mutex_unlock (&s_file_lock);
    return rc;
}

const char *
hearth_log_file (void)
{
    return s_file;
}

/*  Append text to out [*used..cap) as the inside of a JSON string: '"',
    '\' and control bytes escaped, invalid UTF-8 replaced by U+FFFD.
    Stops (whole characters only) when fewer than 16 bytes are left. */
static void
s_json_escape (char *out, size_t cap, size_t *used, const char *text)
{
    const unsigned char *p = (const unsigned char *) (text? text: "");
    size_t n = *used;
    while (*p && n + 16 < cap) {
        unsigned char c = *p;
        if (c == '"' || c == '\\') {
            out [n++] = '\\';
            out [n++] = (char) c;
            p++;
        }
        else
        if (c < 0x20 || c == 0x7f) {
            const char *named = c == '\n'? "\\n": c == '\r'? "\\r": c == '\t'? "\\t": NULL;
            n += (size_t) (named? snprintf (out + n, cap - n, "%s", named)
                                : snprintf (out + n, cap - n, "\\u%04x", c));
            p++;
        }
        else
        if (c < 0x80) {
            out [n++] = (char) c;
            p++;
        }
        else {
            /*  A UTF-8 sequence: copied when valid, else one U+FFFD per bad byte. */
            size_t len = c >= 0xc2 && c <= 0xdf? 2: c >= 0xe0 && c <= 0xef? 3
                       : c >= 0xf0 && c <= 0xf4? 4: 0;
            size_t k = 1;
            while (len && k < len && (p [k] & 0xc0) == 0x80)
                k++;
            int valid = len && k == len;
            if (valid && len == 3 && ((c == 0xe0 && p [1] < 0xa0) || (c == 0xed && p [1] > 0x9f)))
                valid = 0;              /* overlong, or a surrogate */
            if (valid && len == 4 && ((c == 0xf0 && p [1] < 0x90) || (c == 0xf4 && p [1] > 0x8f)))
                valid = 0;              /* overlong, or past U+10FFFF */
            if (valid) {
                memcpy (out + n, p, len);
                n += len;
                p += len;
            }
            else {
                memcpy (out + n, "\xef\xbf\xbd", 3);
                n += 3;
                p++;
            }
        }
    }
    *used = n;
}

/*  1 if fields can go into a JSON object as they are (hearth_log_fields):
    printable ASCII, no backslash, quotes paired, within the size limit. */
static int
s_fields_safe (const char *fields)
{
    size_t quotes = 0, n = 0;
    for (const char *p = fields; *p; p++, n++) {
        if (*p < 0x20 || *p > 0x7e || *p == '\\' || n >= HEARTH_LOG_FIELDS_MAX)
            return 0;
        quotes += *p == '"';
    }
    return n > 0 && quotes % 2 == 0;
}

size_t
hearth_log_render (char *out, size_t cap, hearth_log_format_t format, int journal,
                   hearth_log_level_t level, const char *component, uint64_t ts_ms,
                   const char *message, uint64_t suppressed, const char *fields)
{
    if (level < HEARTH_LOG_ERROR || level > HEARTH_LOG_DEBUG)
        level = HEARTH_LOG_ERROR;
    component = component? component: "-";
    message = message? message: "";
    size_t n = 0;
    if (journal || format == HEARTH_LOG_FORMAT_JOURNAL)
        n += (size_t) snprintf (out, cap, "<%d>", s_priorities [level]);
    char stamp [HEARTH_TIME_SIZE];
    hearth_time_format_ms (ts_ms, stamp);
    if (format == HEARTH_LOG_FORMAT_JSON) {
        n += (size_t) snprintf (out + n, cap - n, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"",
                                stamp, s_level_json [level]);
        s_json_escape (out, cap, &n, component);
        n += (size_t) snprintf (out + n, cap - n, "\",\"msg\":\"");
        s_json_escape (out, cap, &n, message);
        n += (size_t) snprintf (out + n, cap - n, "\"");
        if (fields && s_fields_safe (fields) && n + strlen (fields) + 64 < cap)
            n += (size_t) snprintf (out + n, cap - n, ",%s", fields);
        if (n + 40 < cap && suppressed)
            n += (size_t) snprintf (out + n, cap - n, ",\"suppressed\":%" PRIu64, suppressed);
        n += (size_t) snprintf (out + n, cap - n, "}");
    }
    else {
        if (format == HEARTH_LOG_FORMAT_TEXT)
            n += (size_t) snprintf (out + n, cap - n, "%s ", stamp);
        n += (size_t) snprintf (out + n, cap - n, "%-5s [%s] ", s_level_names [level], component);
        if (n >= cap - 40)
            n = cap - 40;
        /*  Text lines stay one line: a newline inside becomes a space. */
        for (const char *p = message; *p && n < cap - 40; p++)
            out [n++] = *p == '\n' || *p == '\r'? ' ': *p;
        if (suppressed)
            n += (size_t) snprintf (out + n, cap - n, " (+%" PRIu64 " similar)", suppressed);
    }
    if (n > cap - 2)
        n = cap - 2;
    out [n++] = '\n';
    out [n] = 0;
    return n;
}

static void
s_emit (hearth_log_level_t level, const char *component, uint64_t suppressed,
        const char *fields, const char *fmt, va_list args)
{
    if (s_silent)
        return;
    char message [HEARTH_LOG_MESSAGE_MAX];
    if (vsnprintf (message, sizeof message, fmt, args) < 0)
        message [0] = 0;
    char line [HEARTH_LOG_LINE_MAX];
    size_t len = hearth_log_render (line, sizeof line, (hearth_log_format_t) s_format, s_journal,
                                    level, component, hearth_now_ms (), message, suppressed, fields);
    ssize_t rc;
    do
        rc = write (STDERR_FILENO, line, len);
    while (rc < 0 && errno == EINTR);
}

void
hearth_log (hearth_log_level_t level, const char *component, const char *fmt, ...)
{
    if ((int) level > s_level)
        return;
    va_list args;
    va_start (args, fmt);
    s_emit (level, component, 0, NULL, fmt, args);
    va_end (args);
}

void
hearth_log_fields (hearth_log_level_t level, const char *component, const char *fields,
                   const char *fmt, ...)
{
    if ((int) level > s_level)
        return;
    va_list args;
    va_start (args, fmt);
    s_emit (level, component, 0, fields, fmt, args);
    va_end (args);
}

void
hearth_log_limited (hearth_log_level_t level, const char *component, const char *key,
                    const char *fmt, ...)
{
    if ((int) level > s_level)
        return;
    uint64_t now = hearth_mono_ms ();
    uint64_t suppressed = 0;
    int print = 0;
    pthread_mutex_lock (&s_limits_lock);
    s_limit_t *slot = NULL;
    for (size_t i = 0; i < HEARTH_LOG_LIMIT_KEYS; i++)
        if (s_limits [i].key && strcmp (s_limits [i].key, key) == 0) {
            slot = &s_limits [i];
            break;
        }
    if (!slot) {
        slot = &s_limits [s_limits_next];
        s_limits_next = (s_limits_next + 1) % HEARTH_LOG_LIMIT_KEYS;
        slot->key = key;
        slot->last_ms = 0;
        slot->suppressed = 0;
        print = 1;
    }
    else
    if (now - slot->last_ms >= HEARTH_LOG_LIMIT_INTERVAL_MS)
        print = 1;
    if (print) {
        suppressed = slot->suppressed;
        slot->suppressed = 0;
        slot->last_ms = now;
    }
    else
        slot->suppressed++;
    pthread_mutex_unlock (&s_limits_lock);
    if (print) {
        va_list args;
        va_start (args, fmt);
        s_emit (level, component, suppressed, NULL, fmt, args);
        va_end (args);
    }
}

/* ---- captured streams (CZMQ's log lines) ------------------------------- */

/*  1 if text starts with CZMQ's date "yy-mm-dd HH:MM:SS" and a space. */
static int
s_czmq_date (const char *text)
{
    static const char pattern [] = "00-00-00 00:00:00 ";
    for (size_t i = 0; i < sizeof pattern - 1; i++) {
        if (pattern [i] == '0') {
            if (text [i] < '0' || text [i] > '9')
                return 0;
        }
        else
        if (text [i] != pattern [i])
            return 0;
    }
    return 1;
}

/*  CZMQ's level letter as a level; -1 if it is none. */
static int
s_czmq_level (char letter)
{
    switch (letter) {
        case 'E': return HEARTH_LOG_ERROR;
        case 'W': return HEARTH_LOG_WARN;
        case 'N': case 'I': return HEARTH_LOG_INFO;
        case 'D': case 'T': return HEARTH_LOG_DEBUG;
        default:  return -1;
    }
}

const char *
hearth_log_capture_parse (const char *line, const char *default_component,
                          hearth_log_level_t *level, char *component, size_t cap)
{
    const char *p = line? line: "";
    int found = -1;
    snprintf (component, cap, "%s", default_component? default_component: "-");
    /*  zsys_*: "E: [(ident) ]yy-mm-dd HH:MM:SS text" */
    if (s_czmq_level (p [0]) >= 0 && p [1] == ':' && p [2] == ' ') {
        found = s_czmq_level (p [0]);
        p += 3;
        if (*p == '(') {
            const char *close = strstr (p, ") ");
            if (close)
                p = close + 2;
        }
    }
    if (s_czmq_date (p))
        p += 18;
    /*  zclock_log (zconfig): "yy-mm-dd HH:MM:SS E (name): text" */
    if (found < 0 && s_czmq_level (p [0]) >= 0 && p [1] == ' ' && p [2] == '(') {
        const char *close = strstr (p + 3, "): ");
        if (close && (size_t) (close - (p + 3)) < cap) {
            found = s_czmq_level (p [0]);
            snprintf (component, cap, "%.*s", (int) (close - (p + 3)), p + 3);
            p = close + 3;
        }
    }
    *level = found < 0? HEARTH_LOG_INFO: (hearth_log_level_t) found;
    return p;
}

typedef struct s_capture_s {
    char   component [32];
    char   line [HEARTH_LOG_MESSAGE_MAX];
    size_t used;
    struct s_capture_s *next;   /* the list of open captures */
} s_capture_t;

/*  Every capture opened: they live until the process ends (CZMQ and stdout
    hold their streams), and are reachable from here. */
static s_capture_t *s_captures;
static pthread_mutex_t s_captures_lock = PTHREAD_MUTEX_INITIALIZER;

static void
s_capture_flush (s_capture_t *self)
{
    if (!self->used)
        return;
    self->line [self->used] = 0;
    self->used = 0;
    hearth_log_level_t level;
    char component [32];
    const char *text = hearth_log_capture_parse (self->line, self->component, &level,
                                                 component, sizeof component);
    if (*text)
        hearth_log (level, component, "%s", text);
}

/*  fopencookie write: called with the stream's lock held, so one line is
    assembled at a time. */
static ssize_t
s_capture_write (void *cookie, const char *data, size_t size)
{
    s_capture_t *self = (s_capture_t *) cookie;
    for (size_t i = 0; i < size; i++) {
        if (data [i] == '\n')
            s_capture_flush (self);
        else {
            if (self->used >= sizeof self->line - 1)
                s_capture_flush (self);
            self->line [self->used++] = data [i];
        }
    }
    return (ssize_t) size;
}

static int
s_capture_close (void *cookie)
{
    s_capture_t *self = (s_capture_t *) cookie;
    s_capture_flush (self);
    pthread_mutex_lock (&s_captures_lock);
    for (s_capture_t **link = &s_captures; *link; link = &(*link)->next)
        if (*link == self) {
            *link = self->next;
            break;
        }
    pthread_mutex_unlock (&s_captures_lock);
    free (self);
    return 0;
}

FILE *
hearth_log_capture_open (const char *component)
{
    s_capture_t *self = (s_capture_t *) calloc (1, sizeof *self);
    if (!self)
        return NULL;
    snprintf (self->component, sizeof self->component, "%s", component? component: "-");
    cookie_io_functions_t io = { NULL, s_capture_write, NULL, s_capture_close };
    FILE *stream = fopencookie (self, "w", io);
    if (!stream) {
        free (self);
        return NULL;
    }
    setvbuf (stream, NULL, _IOLBF, 0);
    pthread_mutex_lock (&s_captures_lock);
    self->next = s_captures;
    s_captures = self;
    pthread_mutex_unlock (&s_captures_lock);
    return stream;
}
