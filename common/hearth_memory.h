/*  hearth_memory.h — handing freed heap back to the OS after a big wave.

    A node that joins a big community allocates and frees in waves (a
    window of fetched events, their decoded copies on the verify threads,
    RocksDB's memtables); glibc keeps freed chunks in the middle of its
    arenas resident until asked to return them. Measured in a 200k join
    (gossip_bench with BENCH_TRACE): RSS 133.5 MiB before malloc_trim,
    87.1 MiB after. The node calls hearth_memory_release after each big
    wave, not per event.

    On a libc other than glibc it is a no-op.
*/
#ifndef HEARTH_MEMORY_H
#define HEARTH_MEMORY_H
#ifdef __cplusplus
extern "C" {
#endif

/*  Give freed heap pages back to the OS (all arenas). Costs a walk of the
    free lists (milliseconds for a big heap): call after a wave, e.g. a
    stored window of fetched events, not per event. */
void hearth_memory_release (void);

#ifdef __cplusplus
}
#endif
#endif
