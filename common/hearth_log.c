/*  hearth_log.c — levelled, rate-limited logging to stderr.

    Invariant: a line is formatted into one buffer and written with one
    fputs, so lines from several threads never interleave mid-line. The
    rate-limit table is guarded by a mutex: it is the one piece of shared
    state in the logger, touched only on the (rare) limited path.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include "hearth_codec.h"
#include "hearth_error.h"
#include "hearth_log.h"

/*  A log line longer than this is truncated (messages are short sentences). */
#define S_LINE_MAX 1024

static hearth_log_level_t s_level = HEARTH_LOG_INFO;
static int s_silent;          /* hearth_log_set_silent: print nothing */
static const char *s_level_names [] = { "ERROR", "WARN", "INFO", "DEBUG" };

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

static void
s_emit (hearth_log_level_t level, const char *component, uint64_t suppressed,
        const char *fmt, va_list args)
{
    if (s_silent)
        return;
    char line [S_LINE_MAX];
    char stamp [HEARTH_TIME_SIZE];
    hearth_time_format_ms (hearth_now_ms (), stamp);
    int n = snprintf (line, sizeof line, "%s %-5s [%s] ", stamp, s_level_names [level],
                      component? component: "-");
    if (n < 0 || (size_t) n >= sizeof line)
        n = 0;
    int m = vsnprintf (line + n, sizeof line - (size_t) n, fmt, args);
    size_t used = (size_t) n + (m > 0? (size_t) m: 0);
    if (used >= sizeof line - 40)
        used = sizeof line - 40;        /* room for the suffix and newline */
    if (suppressed)
        used += (size_t) snprintf (line + used, sizeof line - used, " (+%llu similar)",
                                   (unsigned long long) suppressed);
    line [used++] = '\n';
    line [used] = 0;
    fputs (line, stderr);
}

void
hearth_log (hearth_log_level_t level, const char *component, const char *fmt, ...)
{
    if (level > s_level)
        return;
    va_list args;
    va_start (args, fmt);
    s_emit (level, component, 0, fmt, args);
    va_end (args);
}

void
hearth_log_limited (hearth_log_level_t level, const char *component, const char *key,
                    const char *fmt, ...)
{
    if (level > s_level)
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
        s_emit (level, component, suppressed, fmt, args);
        va_end (args);
    }
}
