/* Time (contract): a monotonic nanosecond clock and idle waits.
 * aarch64: generic timer (CNTVCT, CNTV); riscv64: time CSR, SBI TIME. */
#ifndef ARCH_TIME_H
#define ARCH_TIME_H

#include <ringlight/types.h>

/* Nanoseconds since an arbitrary point at boot; never goes back. */
uint64_t arch_time_ns(void);

/* A deadline `ns` from now. */
static inline uint64_t arch_deadline_in(uint64_t ns) {
  return arch_time_ns() + ns;
}
static inline bool arch_deadline_passed(uint64_t deadline_ns) {
  return arch_time_ns() >= deadline_ns;
}

/* Idles the CPU (wfi) until an interrupt arrives or the deadline passes,
 * whichever is first; pending interrupts are handled before it returns.
 * Callers loop on their own condition: this never waits without a
 * deadline. */
void arch_idle_until(uint64_t deadline_ns);

/* How many timer interrupts have been taken (for self-tests). */
unsigned long arch_timer_interrupts(void);

#endif
