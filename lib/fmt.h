/* Formatted output into a buffer, for kernel and host alike.
 *
 * C99 snprintf semantics: at most `size` bytes are written including the
 * terminating NUL (none when size is 0), and the return value is the length
 * the full output would have had. Returns -1 if that length exceeds INT_MAX.
 *
 * Conversions: d i u x X o c s p %. Flags: - 0 # + space. Width and
 * precision, either may be `*`. Length modifiers: hh h l ll z t j.
 * %s with NULL prints "(null)" (cut by the precision like any string);
 * %p prints "0x" and lowercase hex, also for NULL ("0x0").
 * Anything else (floats, %n, unknown letters) is copied out unconverted. */
#ifndef LIB_FMT_H
#define LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

#include <ringlight/types.h>

int rl_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int rl_snprintf(char *buf, size_t size, const char *fmt, ...) RL_PRINTF(3, 4);

/* Appends `s` to the string of length `at` in buf (size > at), cut to
 * fit and NUL-ended; returns the new length. With rl_append_hex, for the
 * names and reasons the probe builds on the boot's path to the first
 * picture, without the formatting code (klog_later). */
size_t rl_append(char *buf, size_t size, size_t at, const char *s);
/* Appends `v` as "%#llx" does ("0x1f", and "0" for 0). */
size_t rl_append_hex(char *buf, size_t size, size_t at, uint64_t v);
/* Appends `v` as "%llu" does. */
size_t rl_append_dec(char *buf, size_t size, size_t at, uint64_t v);

#endif
