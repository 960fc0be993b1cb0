/* Logging and panic, a library every layer may use: it knows no device.
 * The serial console (the UART, registered first by the kernel) gets every
 * line as it is printed; more sinks (each GPU's text console) get the
 * same lines and, when added, the end of what was printed before. The
 * platform hooks (interrupt masking, halting) are the kernel's to give;
 * without them (host tests) nothing is masked and a panic exits. */
#ifndef LIB_LOG_H
#define LIB_LOG_H

#include <ringlight/config.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Formats (lib/fmt.h conventions) to the console. */
void kprintf(const char *fmt, ...) RL_PRINTF(1, 2);
/* Prints when `level` <= CONFIG_LOG_LEVEL, decided where it is called:
 * a call with a constant level above CONFIG_LOG_LEVEL compiles to
 * nothing, its format string and the arguments' code gone from the image
 * (the arguments are not evaluated). The format is still checked. */
#define klog(level, ...)                                                       \
  ((level) <= CONFIG_LOG_LEVEL ? klog_print((level), __VA_ARGS__) : (void)0)
/* What klog calls; the level is checked again (a variable level). */
void klog_print(int level, const char *fmt, ...) RL_PRINTF(2, 3);
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

/* The serial console: every line, kprintf_serial's too, nothing replayed.
 * NULL removes it. */
void log_set_serial(klog_sink_fn fn, void *ctx);

struct log_platform {
  /* Masks interrupts (sinks change, a panic stops); returns what restore
   * takes. */
  unsigned long (*irq_save)(void);
  void (*irq_restore)(unsigned long flags);
  /* Ends the run with `status`; does not return. */
  void (*halt)(int status);
};
/* `p` must outlive the log. Without one: no masking, and a panic traps
 * (__builtin_trap). */
void log_set_platform(const struct log_platform *p);

#endif
