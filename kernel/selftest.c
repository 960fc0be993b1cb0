/* DMA self-test at boot: what every driver relies on, checked on the real
 * machine. The boot test reads the "dma selftest: PASS" line. */
#include <arch/dma.h>
#include <arch/time.h>
#include <arch/vm.h>
#include <kernel/boot.h>
#include <lib/log.h>
#include <string.h>

#define FAIL(...)                                                              \
  do {                                                                         \
    klog(LOG_ERROR, "dma selftest: " __VA_ARGS__);                             \
    return RL_ERR_IO;                                                          \
  } while (0)

/* A different value in every byte of the buffer's words. */
static uint64_t pattern(size_t i) {
  return (uint64_t)i * 0x0807060504030201ull + 0x0101010101010101ull;
}

/* Index of the first byte (in memory order) where `a` and `b` differ. */
static size_t first_byte(uint64_t a, uint64_t b) {
  uint8_t x[8], y[8];
  memcpy(x, &a, 8);
  memcpy(y, &b, 8);
  size_t i = 0;
  while (i < 7 && x[i] == y[i]) {
    i++;
  }
  return i;
}

static rl_status check_buffer(size_t pages) {
  struct arch_dma_buf buf;
  rl_status st = arch_dma_alloc(pages, &buf);
  if (st != RL_OK) {
    FAIL("allocating %zu pages: %s\n", pages, rl_status_str(st));
  }
  uintptr_t cpu = (uintptr_t)buf.cpu;
  if ((uint64_t)cpu == buf.phys) {
    FAIL("virtual address %#lx equals its physical address\n",
         (unsigned long)cpu);
  }
  if (!RL_IS_ALIGNED(cpu, RL_PAGE_SIZE) ||
      !RL_IS_ALIGNED(buf.phys, RL_PAGE_SIZE) ||
      buf.size != pages * RL_PAGE_SIZE) {
    FAIL("misaligned buffer %#lx / %#llx size %zu\n", (unsigned long)cpu,
         (unsigned long long)buf.phys, buf.size);
  }
  /* Whole words (volatile, so each is really read): byte loops over 20
   * pages cost more of the boot under emulation than the rest of this
   * test. A word that differs names its first differing byte. */
  volatile uint64_t *words = (volatile uint64_t *)buf.cpu;
  size_t nwords = buf.size / sizeof(uint64_t);
  for (size_t i = 0; i < nwords; i++) {
    uint64_t w = words[i];
    if (w != 0) {
      FAIL("byte %zu not zeroed\n", i * 8 + first_byte(w, 0));
    }
  }
  for (size_t off = 0; off < buf.size; off += RL_PAGE_SIZE / 2 + 7) {
    paddr_t pa;
    void *back;
    if (arch_virt_to_phys_checked((const uint8_t *)buf.cpu + off, &pa) !=
            RL_OK ||
        pa != buf.phys + off || arch_phys_to_virt_checked(pa, &back) != RL_OK ||
        back != (uint8_t *)buf.cpu + off) {
      FAIL("translation round trip failed at offset %zu\n", off);
    }
  }
  static const struct arch_dma_dev nc = {.coherent = false};
  static const struct arch_dma_dev coherent = {.coherent = true};
  unsigned long syncs = arch_dma_sync_count();
  for (size_t i = 0; i < nwords; i++) {
    words[i] = pattern(i);
  }
  arch_dma_sync_for_device(&nc, buf.cpu, buf.size, ARCH_DMA_TO_DEVICE);
  arch_dma_sync_for_device(&nc, buf.cpu, buf.size, ARCH_DMA_FROM_DEVICE);
  arch_dma_sync_for_cpu(&nc, buf.cpu, buf.size, ARCH_DMA_FROM_DEVICE);
  arch_dma_sync_for_cpu(&coherent, buf.cpu, buf.size, ARCH_DMA_FROM_DEVICE);
  if (arch_dma_sync_count() != syncs + 3) {
    FAIL("sync calls ran %lu cache operations, expected 3\n",
         arch_dma_sync_count() - syncs);
  }
  for (size_t i = 0; i < nwords; i++) {
    uint64_t w = words[i];
    if (w != pattern(i)) {
      FAIL("byte %zu changed across sync\n", i * 8 + first_byte(w, pattern(i)));
    }
  }
  kprintf("dma selftest: %zu page(s) virt %#lx phys %#llx ok\n", pages,
          (unsigned long)cpu, (unsigned long long)buf.phys);
  arch_dma_free(&buf);
  return RL_OK;
}

rl_status boot_dma_selftest(void) {
  static const size_t sizes[] = {1, 3, 16};
  for (size_t i = 0; i < RL_ARRAY_SIZE(sizes); i++) {
    rl_status st = check_buffer(sizes[i]);
    if (st != RL_OK) {
      return st;
    }
  }
  /* Outside the direct map: the device window, and a low address. */
  paddr_t pa;
  void *va;
  if (arch_virt_to_phys_checked((const void *)(uintptr_t)ARCH_DEVICE_BASE,
                                &pa) != RL_ERR_OUT_OF_RANGE ||
      arch_virt_to_phys_checked((const void *)(uintptr_t)0x1000, &pa) !=
          RL_ERR_OUT_OF_RANGE ||
      arch_phys_to_virt_checked(0x10, &va) != RL_ERR_OUT_OF_RANGE) {
    FAIL("translation outside the direct map did not fail\n");
  }
  kprintf("dma selftest: PASS (sync calls executed: %lu)\n",
          arch_dma_sync_count());
  return RL_OK;
}

/* Tries, each a fresh TIME_SELFTEST_NS deadline: under a loaded host the vCPU
 * can be descheduled past a deadline before it reaches wfi, and arch_idle_until
 * then (rightly) returns without arming the timer. One attempt that idles
 * and is woken by the timer is the proof. */
#define TIME_SELFTEST_TRIES 32
/* Short: it runs before the first picture, and under emulation 1 ms of
 * deadline cost 1.5-2.5 ms of boot. */
#define TIME_SELFTEST_NS 250000ull

rl_status boot_time_selftest(void) {
  uint64_t start = arch_time_ns();
  unsigned long irqs = 0;
  unsigned loops = 0;
  unsigned tries = 0;
  while (irqs == 0 && tries < TIME_SELFTEST_TRIES) {
    unsigned long before = arch_timer_interrupts();
    uint64_t deadline = arch_time_ns() + TIME_SELFTEST_NS;
    unsigned attempt = 0;
    while (!arch_deadline_passed(deadline) && attempt < 1000000) {
      arch_idle_until(deadline);
      attempt++;
    }
    loops += attempt;
    tries++;
    irqs = arch_timer_interrupts() - before;
  }
  uint64_t waited = arch_time_ns() - start;
  if (waited < TIME_SELFTEST_NS || irqs == 0) {
    klog(LOG_ERROR,
         "time selftest: waited %llu ns in %u deadline(s), no timer "
         "interrupt\n",
         (unsigned long long)waited, tries);
    return RL_ERR_IO;
  }
  kprintf("time selftest: PASS (idled %llu us, %lu timer interrupt(s), "
          "%u wake-up(s), %u deadline(s))\n",
          (unsigned long long)(waited / 1000), irqs, loops, tries);
  return RL_OK;
}
