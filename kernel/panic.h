/* Kernel logging and panic. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <ringlight/types.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Formats (lib/fmt.h conventions) to the console. */
void kprintf(const char *fmt, ...) RL_PRINTF(1, 2);
/* Prints when `level` <= CONFIG_LOG_LEVEL. */
void klog(int level, const char *fmt, ...) RL_PRINTF(2, 3);
/* Prints to the serial console only: not kept for the replay, not sent to
 * the sink (for traces of the sink's own work, which would otherwise feed
 * back into it). */
void kprintf_serial(const char *fmt, ...) RL_PRINTF(1, 2);

/* A second console (the GPU's text console): receives everything printed.
 * Setting it first replays the end of the log kept since boot (at most
 * the last 24 lines). */
typedef void (*klog_sink_fn)(const char *text, size_t len, void *ctx);
void klog_set_sink(klog_sink_fn fn, void *ctx);

/* Prints "PANIC: <message>" and ends the run with a failure status. */
RL_NORETURN void panic(const char *fmt, ...) RL_PRINTF(1, 2);

/* Exit status of a panic (the QEMU run ends with it). */
#define PANIC_EXIT_STATUS 3

#endif
