/* Host time: CLOCK_MONOTONIC; idling sleeps at most 1 ms per call. In
 * virtual-time mode (host_time_virtual) the clock only moves when code
 * idles: arch_idle_until jumps straight to its deadline, so fuzzers and
 * tests exercise every timeout without sleeping. */
#include <arch/time.h>

#include <time.h>

#include "arch_host.h"
#include "host_internal.h"

#define IDLE_MAX_NS 1000000u

static unsigned long sleeps;
static bool virtual_time;
static uint64_t virtual_now;
static void (*idle_fn)(void *ctx);
static void *idle_ctx;

void host_idle_hook(void (*fn)(void *ctx), void *ctx) {
  idle_fn = fn;
  idle_ctx = ctx;
}

/* An enabled interrupt is pending (raised while masked): wfi wakes on it
 * even with local interrupts masked; it is taken when they are unmasked. */
static bool wake_pending(void) {
  for (unsigned i = 0; i < HOST_IRQ_COUNT; i++) {
    if (host_irq_is_pending(i) && host_irq_is_enabled(i)) {
      return true;
    }
  }
  return false;
}

/* Each sleep in arch_idle_until stands for one timer interrupt. */
unsigned long arch_timer_interrupts(void) {
  return __atomic_load_n(&sleeps, __ATOMIC_RELAXED);
}

void host_time_virtual(bool on) {
  virtual_time = on;
  virtual_now = 1000000000ull;
}

void host_time_advance(uint64_t ns) { virtual_now += ns; }

static unsigned long time_reads;

unsigned long host_time_reads(void) {
  return __atomic_load_n(&time_reads, __ATOMIC_RELAXED);
}

uint64_t arch_time_ns(void) {
  __atomic_fetch_add(&time_reads, 1, __ATOMIC_RELAXED);
  if (virtual_time) {
    return virtual_now;
  }
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail with a valid pointer. */
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t arch_time_raw(void) { return arch_time_ns(); }

uint64_t arch_time_raw_to_ns(uint64_t raw) { return raw; }

void arch_idle_until(uint64_t deadline_ns) {
  if (idle_fn != NULL) {
    idle_fn(idle_ctx); /* a device that works while the CPU idles */
  }
  if (host_irq_deliver_pending() || wake_pending()) {
    return; /* an interrupt "arrived" */
  }
  uint64_t now = arch_time_ns();
  if (now >= deadline_ns) {
    return;
  }
  __atomic_fetch_add(&sleeps, 1, __ATOMIC_RELAXED);
  if (virtual_time) {
    virtual_now = deadline_ns;
    return;
  }
  uint64_t wait = deadline_ns - now;
  if (wait > IDLE_MAX_NS) {
    wait = IDLE_MAX_NS;
  }
  struct timespec ts = {0, (long)wait};
  nanosleep(&ts, NULL); /* EINTR: returning early is allowed */
}
