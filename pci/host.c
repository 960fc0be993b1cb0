/* The ECAM host bridge from the device tree: reg, bus-range, ranges,
 * dma-coherent (device tree PCI bus binding: IEEE 1275 PCI binding §2.2.1
 * for the three-cell child address, whose first cell is
 * "npt000ss bbbbbbbb dddddfff rrrrrrrr", ss the space code). */
#include <arch/vm.h>
#include <lib/log.h>
#include <pci/pci.h>
#include <ringlight/config.h>

#include "pci_regs.h"

#define PCI_ADDR_CELLS 3
#define PHYS_HI_SPACE(hi) (((hi) >> 24) & 0x3u)
#define PHYS_HI_PREFETCH 0x40000000u
#define SPACE_CONFIG 0
#define SPACE_IO 1
#define SPACE_MEM32 2
#define SPACE_MEM64 3

static uint64_t cells_u64(const uint8_t *p, uint32_t n) {
  uint64_t v = 0;
  for (uint32_t i = 0; i < n; i++) {
    v = (v << 32) | fdt_be32(p + (size_t)4 * i);
  }
  return v;
}

rl_status pci_host_find(const struct fdt *fdt, int from, int *node) {
  for (;;) {
    rl_status st =
        fdt_find_compatible(fdt, from, "pci-host-ecam-generic", node);
    if (st != RL_OK || fdt_node_enabled(fdt, *node)) {
      return st;
    }
    from = *node;
  }
}

/* `ranges`: (child 3 cells, parent #address-cells, child #size-cells)
 * triples; the parent is the bridge's own parent bus. */
static rl_status read_ranges(const struct fdt *fdt, int node,
                             struct pci_host *host) {
  uint32_t parent_cells;
  uint32_t unused;
  rl_status st = fdt_reg_cells(fdt, node, &parent_cells, &unused);
  if (st != RL_OK) {
    return st;
  }
  uint32_t acells;
  uint32_t scells;
  if (fdt_get_u32(fdt, node, "#address-cells", &acells) != RL_OK ||
      fdt_get_u32(fdt, node, "#size-cells", &scells) != RL_OK ||
      acells != PCI_ADDR_CELLS || scells == 0 || scells > 2) {
    return RL_ERR_BAD_FORMAT;
  }
  struct fdt_prop prop;
  if ((st = fdt_get_prop(fdt, node, "ranges", &prop)) != RL_OK) {
    return st == RL_ERR_NOT_FOUND ? RL_ERR_BAD_FORMAT : st;
  }
  uint32_t entry = 4 * (PCI_ADDR_CELLS + parent_cells + scells);
  if (prop.len == 0 || prop.len % entry != 0) {
    return RL_ERR_BAD_FORMAT;
  }
  const uint8_t *p = (const uint8_t *)prop.data;
  for (uint32_t off = 0; off < prop.len; off += entry) {
    uint32_t hi = fdt_be32(p + off);
    uint64_t pci = cells_u64(p + off + 4, 2);
    uint64_t cpu =
        cells_u64(p + off + (size_t)4 * PCI_ADDR_CELLS, parent_cells);
    uint64_t size = cells_u64(
        p + off + (size_t)4 * (PCI_ADDR_CELLS + parent_cells), scells);
    if (size == 0 || pci + size < pci || cpu + size < cpu) {
      return RL_ERR_BAD_FORMAT;
    }
    struct pci_window w = {.pci_base = pci, .cpu_base = cpu, .size = size};
    w.prefetchable = (hi & PHYS_HI_PREFETCH) != 0;
    switch (PHYS_HI_SPACE(hi)) {
    case SPACE_IO:
      w.space = PCI_SPACE_IO;
      break;
    case SPACE_MEM32:
      w.space = PCI_SPACE_MEM32;
      if (pci + size > 0x100000000ull) {
        return RL_ERR_BAD_FORMAT;
      }
      break;
    case SPACE_MEM64:
      w.space = PCI_SPACE_MEM64;
      break;
    default:
      return RL_ERR_BAD_FORMAT; /* configuration space is not a window */
    }
    if (host->window_count == PCI_MAX_WINDOWS) {
      klog(LOG_WARN, "pci: %s: more than %u windows, the rest ignored\n",
           fdt_node_name(fdt, node), PCI_MAX_WINDOWS);
      break;
    }
    host->windows[host->window_count++] = w;
  }
  return RL_OK;
}

rl_status pci_host_init(const struct fdt *fdt, int node,
                        struct pci_host *host) {
  if (fdt == NULL || host == NULL) {
    return RL_ERR_INVALID;
  }
  *host = (struct pci_host){.fdt = fdt, .node = node};
  rl_status st = fdt_get_reg(fdt, node, 0, &host->ecam_pa, &host->ecam_size);
  if (st != RL_OK) {
    return st == RL_ERR_NOT_FOUND ? RL_ERR_BAD_FORMAT : st;
  }
  host->bus_start = 0;
  host->bus_end = 255;
  struct fdt_prop prop;
  if (fdt_get_prop(fdt, node, "bus-range", &prop) == RL_OK) {
    if (prop.len != 8) {
      return RL_ERR_BAD_FORMAT;
    }
    host->bus_start = fdt_be32(prop.data);
    host->bus_end = fdt_be32((const uint8_t *)prop.data + 4);
    if (host->bus_start > host->bus_end || host->bus_end > 255) {
      return RL_ERR_BAD_FORMAT;
    }
  }
  /* The window must hold every bus of the range (1 MiB each); a smaller
   * one (QEMU's highmem=off: 16 MiB) limits the range. */
  uint64_t buses = host->ecam_size >> PCI_ECAM_BUS_SHIFT;
  if (buses == 0) {
    return RL_ERR_BAD_FORMAT;
  }
  if (host->bus_end - host->bus_start + 1 > buses) {
    host->bus_end = host->bus_start + (unsigned)buses - 1;
  }
  if ((st = read_ranges(fdt, node, host)) != RL_OK) {
    return st;
  }
#ifdef CONFIG_ARCH_DMA_COHERENT_DEFAULT
  host->dma_coherent = fdt_dma_coherent(fdt, node, true);
#else
  host->dma_coherent = fdt_dma_coherent(fdt, node, false);
#endif
  /* Only the first bus is enumerated (bridges are not followed): its
   * 1 MiB of configuration space is all that is mapped. */
  volatile void *va;
  if ((st = arch_ioremap(host->ecam_pa, (uint64_t)1 << PCI_ECAM_BUS_SHIFT,
                         &va)) != RL_OK) {
    return st;
  }
  host->ecam = (volatile uint8_t *)va;
  return RL_OK;
}
