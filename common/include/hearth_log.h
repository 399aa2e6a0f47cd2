/*  hearth_log.h — the one logging wrapper of Hearth.

    Levels: ERROR < WARN < INFO < DEBUG. Lines go to stderr as
    "2026-11-25T09:21:35.123Z LEVEL [component] message".
    Remote-triggered messages use hearth_log_limited(): at most one line per
    key per HEARTH_LOG_LIMIT_INTERVAL_MS, the rest counted and reported with
    the next line that passes. Never log secrets (seeds, private keys).
    Thread-safe enough for our use: each line is written with one fprintf.
*/
#ifndef HEARTH_LOG_H
#define HEARTH_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HEARTH_LOG_ERROR = 0,
    HEARTH_LOG_WARN  = 1,
    HEARTH_LOG_INFO  = 2,
    HEARTH_LOG_DEBUG = 3
} hearth_log_level_t;

/*  Minimum interval between two lines with the same rate-limit key. */
#define HEARTH_LOG_LIMIT_INTERVAL_MS 1000
/*  Distinct rate-limit keys tracked; older keys are recycled round-robin. */
#define HEARTH_LOG_LIMIT_KEYS 64

/*  Set the most verbose level printed (default INFO). */
void hearth_log_set_level (hearth_log_level_t level);
/*  Print no line at all while silent is set (a CLI that reports every
    failure itself, in its own words). */
void hearth_log_set_silent (int silent);
/*  Parse "error"|"warn"|"info"|"debug"; returns 0 or HEARTH_EINVAL. */
int  hearth_log_parse_level (const char *text, hearth_log_level_t *level);

void hearth_log (hearth_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

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
