/* The device tree's GICv3 node (Linux binding arm,gic-v3.yaml): reg =
 * distributor, then #redistributor-regions redistributor regions, then
 * (ignored here) the CPU, hypervisor and virtual CPU interfaces; optional
 * redistributor-stride. Portable: the kernel's GICv3 driver and host unit
 * tests use it. */
#ifndef ARCH_AARCH64_GICV3_DT_H
#define ARCH_AARCH64_GICV3_DT_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

#define GICV3_MAX_REDIST_REGIONS 8
#define GICV3_DIST_SIZE 0x10000ull   /* GICv3 arch spec §12.1: 64 KiB */
#define GICV3_FRAME_SIZE 0x10000ull  /* one 64 KiB redistributor frame */
#define GICV3_REDIST_SIZE 0x20000ull /* RD_base + SGI_base (GICv3) */

struct gicv3_region {
  paddr_t pa;
  uint64_t size;
};

struct gicv3_dt {
  struct gicv3_region dist;
  unsigned nredist;
  struct gicv3_region redist[GICV3_MAX_REDIST_REGIONS];
  /* redistributor-stride, or 0: step by GICR_TYPER (2 or 4 frames). */
  uint64_t stride;
};

/* Reads `node` (compatible "arm,gic-v3"). RL_ERR_BAD_FORMAT when reg is
 * missing or too short for what #redistributor-regions announces, a region
 * is smaller than its registers, or the stride is not a multiple of 64 KiB;
 * RL_ERR_OUT_OF_RANGE for more than GICV3_MAX_REDIST_REGIONS regions. */
rl_status gicv3_dt_parse(const struct fdt *fdt, int node, struct gicv3_dt *out);

#endif
