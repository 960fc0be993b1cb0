/* The display-path benchmark of the virtio-gpu driver (gpu_bench.c),
 * built only with CONFIG_BENCH: the kernel's benchmark mode
 * (kernel/main.c, run_benchmarks) calls it on the first GPU. */
#ifndef DRIVERS_GPU_GPU_BENCH_H
#define DRIVERS_GPU_GPU_BENCH_H

#include <ringlight/status.h>
#include <ringlight/types.h>

struct gpu;

struct gpu_bench_result {
  uint64_t ns;
  unsigned updates;
  unsigned long notifications, interrupts;
  unsigned long max_notifications, max_interrupts; /* per update */
};
/* `updates` back-to-back updates of a w x h rectangle of scanout 0
 * (transfer + flush each), timed with the guest's clock. */
rl_status gpu_bench(struct gpu *g, unsigned updates, uint32_t w, uint32_t h,
                    struct gpu_bench_result *out);

#endif
