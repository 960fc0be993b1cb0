/* Kernel logging and panic. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <ringlight/status.h>
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

/* More consoles (each GPU's text console): every sink receives
 * everything printed. Adding one first
 * replays to it the end of the log kept since boot (at most the last 24
 * lines). A sink is the pair (fn, ctx): one function serves many devices.
 * Adding a pair already present changes nothing; RL_ERR_NO_SPACE when
 * KLOG_MAX_SINKS are in use. Removing a pair that is absent is a no-op. */
#define KLOG_MAX_SINKS 8
typedef void (*klog_sink_fn)(const char *text, size_t len, void *ctx);
rl_status klog_add_sink(klog_sink_fn fn, void *ctx);
void klog_remove_sink(klog_sink_fn fn, const void *ctx);

/* Prints "PANIC: <message>" and ends the run with a failure status. */
RL_NORETURN void panic(const char *fmt, ...) RL_PRINTF(1, 2);

/* Exit status of a panic (the QEMU run ends with it). */
#define PANIC_EXIT_STATUS 3

#endif
