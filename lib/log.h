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
#ifdef CONFIG_LOG_TEXT
#define klog(level, ...)                                                       \
  ((level) <= CONFIG_LOG_LEVEL ? klog_print((level), __VA_ARGS__) : (void)0)
#else
#define klog(level, ...)                                                       \
  ((level) <= CONFIG_LOG_LEVEL ? klog_terse((level), __VA_ARGS__) : (void)0)
#endif
/* What klog calls; the level is checked again (a variable level). */
void klog_print(int level, const char *fmt, ...) RL_PRINTF(2, 3);

/* A message text passed as an argument (what failed): itself, or
 * without CONFIG_LOG_TEXT the call site ("virtio.c:180"). */
#ifdef CONFIG_LOG_TEXT
#define KLOG_TEXT(text) (text)
#else
#define KLOG_TEXT(text) (KLOG_FILE_ ":" KLOG_STR_(__LINE__))
#endif
#define KLOG_STR_(x) KLOG_STR2_(x)
#define KLOG_STR2_(x) #x

/* Without CONFIG_LOG_TEXT, klog is klog_terse: the line names the call
 * site and prints the arguments, without the format's text, which is
 * not in the image ("error: virtio.c:212 virtio-gpu@0xa003e00 -7 0x40":
 * strings as they are, signed integers in decimal, the rest in hex).
 * The format is still checked (unevaluated), the arguments evaluated
 * once. At most 12 arguments after the format. */
#define klog_terse(level, ...)                                                 \
  ((void)sizeof(klog_check_format(__VA_ARGS__)),                               \
   KLOG_PICK_(__VA_ARGS__, KLOG_12_, KLOG_11_, KLOG_10_, KLOG_9_, KLOG_8_,     \
              KLOG_7_, KLOG_6_, KLOG_5_, KLOG_4_, KLOG_3_, KLOG_2_, KLOG_1_,   \
              KLOG_0_, _)(level, __VA_ARGS__))
/* Prints one klog_terse line: `file`:`line`, then args[0..n) where
 * `kinds` has two bits per argument from bit 4 up (KLOG_KIND_) and n in
 * bits 0-3. */
void klog_code(int level, const char *file, unsigned line, uint32_t kinds, ...);
static inline RL_PRINTF(1, 2) int klog_check_format(const char *fmt, ...) {
  (void)fmt;
  return 0;
}
#ifdef __FILE_NAME__
#define KLOG_FILE_ __FILE_NAME__
#else
#define KLOG_FILE_ __FILE__
#endif
#define KLOG_STRING_ 1u
#define KLOG_SIGNED_ 2u
#define KLOG_KIND_(a, i)                                                       \
  ((uint32_t)_Generic((a),                                                     \
       char *: KLOG_STRING_,                                                   \
       const char *: KLOG_STRING_,                                             \
       signed char: KLOG_SIGNED_,                                              \
       short: KLOG_SIGNED_,                                                    \
       int: KLOG_SIGNED_,                                                      \
       long: KLOG_SIGNED_,                                                     \
       long long: KLOG_SIGNED_,                                                \
       default: 0u)                                                            \
   << (4 + 2 * (i)))
#define KLOG_V_(a) ((uint64_t)(uintptr_t)(a))
#define KLOG_PICK_(f, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, m,    \
                   ...)                                                        \
  m
#define KLOG_AT_(l, n, k, ...)                                                 \
  klog_code((l), KLOG_FILE_, __LINE__, (n) | (k), __VA_ARGS__)
#define KLOG_0_(l, f) klog_code((l), KLOG_FILE_, __LINE__, 0)
#define KLOG_1_(l, f, a) KLOG_AT_(l, 1, KLOG_KIND_(a, 0), KLOG_V_(a))
#define KLOG_2_(l, f, a, b)                                                    \
  KLOG_AT_(l, 2, KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1), KLOG_V_(a), KLOG_V_(b))
#define KLOG_3_(l, f, a, b, c)                                                 \
  KLOG_AT_(l, 3, KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2),       \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c))
#define KLOG_4_(l, f, a, b, c, d)                                              \
  KLOG_AT_(l, 4,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3),                                               \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d))
#define KLOG_5_(l, f, a, b, c, d, e)                                           \
  KLOG_AT_(l, 5,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4),                            \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e))
#define KLOG_6_(l, f, a, b, c, d, e, g)                                        \
  KLOG_AT_(l, 6,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5),         \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g))
#define KLOG_7_(l, f, a, b, c, d, e, g, h)                                     \
  KLOG_AT_(l, 7,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6),                                               \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h))
#define KLOG_8_(l, f, a, b, c, d, e, g, h, i)                                  \
  KLOG_AT_(l, 8,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6) | KLOG_KIND_(i, 7),                            \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h), KLOG_V_(i))
#define KLOG_9_(l, f, a, b, c, d, e, g, h, i, j)                               \
  KLOG_AT_(l, 9,                                                               \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6) | KLOG_KIND_(i, 7) | KLOG_KIND_(j, 8),         \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h), KLOG_V_(i), KLOG_V_(j))
#define KLOG_10_(l, f, a, b, c, d, e, g, h, i, j, k)                           \
  KLOG_AT_(l, 10,                                                              \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6) | KLOG_KIND_(i, 7) | KLOG_KIND_(j, 8) |        \
               KLOG_KIND_(k, 9),                                               \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h), KLOG_V_(i), KLOG_V_(j), KLOG_V_(k))
#define KLOG_11_(l, f, a, b, c, d, e, g, h, i, j, k, m)                        \
  KLOG_AT_(l, 11,                                                              \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6) | KLOG_KIND_(i, 7) | KLOG_KIND_(j, 8) |        \
               KLOG_KIND_(k, 9) | KLOG_KIND_(m, 10),                           \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h), KLOG_V_(i), KLOG_V_(j), KLOG_V_(k),         \
           KLOG_V_(m))
#define KLOG_12_(l, f, a, b, c, d, e, g, h, i, j, k, m, n)                     \
  KLOG_AT_(l, 12,                                                              \
           KLOG_KIND_(a, 0) | KLOG_KIND_(b, 1) | KLOG_KIND_(c, 2) |            \
               KLOG_KIND_(d, 3) | KLOG_KIND_(e, 4) | KLOG_KIND_(g, 5) |        \
               KLOG_KIND_(h, 6) | KLOG_KIND_(i, 7) | KLOG_KIND_(j, 8) |        \
               KLOG_KIND_(k, 9) | KLOG_KIND_(m, 10) | KLOG_KIND_(n, 11),       \
           KLOG_V_(a), KLOG_V_(b), KLOG_V_(c), KLOG_V_(d), KLOG_V_(e),         \
           KLOG_V_(g), KLOG_V_(h), KLOG_V_(i), KLOG_V_(j), KLOG_V_(k),         \
           KLOG_V_(m), KLOG_V_(n))
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

/* Describing lines that may wait: `fn(ctx)` prints them now or, while
 * the log defers (klog_defer), later, in the order they were given, and
 * before any other line is printed (an error among them comes after the
 * lines that preceded it). The kernel defers from its entry to its first
 * picture: the info lines of the probe on the picture's path are then
 * formatted after it, and no formatting code runs before the picture is
 * posted (under an emulator, code that runs for the first time is
 * translated first: tools/bench qemu). `ctx` must outlive the wait; the
 * lines show its state when printed. At most KLOG_LATER_MAX wait: a
 * further one prints now (after those). */
#define KLOG_LATER_MAX 16
typedef void (*klog_later_fn)(const void *ctx);
void klog_later(klog_later_fn fn, const void *ctx);
/* On: klog_later waits. Off: prints what waits, then klog_later prints
 * at once (the default). */
void klog_defer(bool on);

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
