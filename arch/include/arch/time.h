/* Time (contract): a monotonic nanosecond clock and idle waits.
 * aarch64: generic timer (CNTVCT, CNTV); riscv64: time CSR, SBI TIME. */
#ifndef ARCH_TIME_H
#define ARCH_TIME_H

#include <ringlight/types.h>

/* Nanoseconds since an arbitrary point at boot; never goes back. */
uint64_t arch_time_ns(void);

/* The raw counter (works before arch_time_init, for the entry timestamp)
 * and its conversion once the frequency is known. On QEMU both counters
 * start at 0 when the machine starts and stop while it is paused, so
 * arch_time_ns() is emulated time since the machine first ran. */
uint64_t arch_time_raw(void);
uint64_t arch_time_raw_to_ns(uint64_t raw);

/* A deadline `ns` from now. */
static inline uint64_t arch_deadline_in(uint64_t ns) {
  return arch_time_ns() + ns;
}
static inline bool arch_deadline_passed(uint64_t deadline_ns) {
  return arch_time_ns() >= deadline_ns;
}

/* Idles the CPU (wfi) until an interrupt arrives or the deadline passes,
 * whichever is first; pending interrupts are handled before it returns
 * (it unmasks briefly), and the caller's masking is restored. Callers loop
 * on their own condition: this never waits without a deadline. Check the
 * condition with interrupts masked (arch_irq_save) and call this still
 * masked, or an interrupt handled between the check and the wfi is lost
 * until the deadline. */
void arch_idle_until(uint64_t deadline_ns);

/* How many timer interrupts have been taken (for self-tests). */
unsigned long arch_timer_interrupts(void);

#endif
