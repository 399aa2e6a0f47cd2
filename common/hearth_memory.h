/*  hearth_memory.h — process-wide heap policy for a long-running node.

    A node that joins a big community allocates and frees a lot in waves:
    RocksDB memtable arena blocks (MiB each), batches of fetched events,
    decoded events on the verify threads. With glibc's defaults the mmap
    threshold adapts upwards after the first large free, so later large
    blocks come from the heap and stay resident after they are freed
    (an empty node joining 1M events held ~75 MiB of freed heap at its
    peak, measured with gossip_bench's mallinfo2 line). These two calls
    fix that the way a long-running server must: large blocks always
    mapped (returned to the OS on free), and freed heap pages handed back
    after each big wave.

    On a libc other than glibc both are no-ops.
*/
#ifndef HEARTH_MEMORY_H
#define HEARTH_MEMORY_H
#ifdef __cplusplus
extern "C" {
#endif

/*  Blocks of at least this many bytes are always mmapped: RocksDB's arena
    blocks and the gossip frame buffers are above it, events are far
    below it. glibc's default is 128 KiB but adapts upward to 32 MiB;
    setting it pins it. */
#define HEARTH_MEMORY_MMAP_THRESHOLD  (256 * 1024)

/*  Set the heap policy. Call once at process start, before threads. */
void hearth_memory_setup (void);

/*  Give freed heap pages back to the OS (all arenas). Costs a walk of the
    free lists (milliseconds for a big heap): call after a wave, e.g. a
    stored batch of fetched events, not per event. */
void hearth_memory_release (void);

#ifdef __cplusplus
}
#endif
#endif
