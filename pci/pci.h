/* PCI host bridge and bus 0 (contract).
 *
 * A generic ECAM host bridge ("pci-host-ecam-generic", Documentation of
 * the device tree's PCI bus binding: IEEE 1275 PCI bus binding §2.2.1 for
 * the three-cell addresses) found in the device tree: its configuration
 * window, bus range, address windows (`ranges`) and INTx routing
 * (`interrupt-map`). No firmware assigns BARs before this kernel on QEMU
 * virt, so pci_enumerate sizes every BAR of every function on the first
 * bus and places it in a window, then enables memory decoding and bus
 * mastering. Bridges are found and reported, not configured (QEMU's
 * default topology puts every device on bus 0). */
#ifndef PCI_PCI_H
#define PCI_PCI_H

#include <devicetree/fdt.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

enum pci_space {
  PCI_SPACE_IO,
  PCI_SPACE_MEM32,
  PCI_SPACE_MEM64,
};

/* One `ranges` entry: PCI addresses [pci_base, pci_base + size) appear to
 * the CPU at cpu_base. */
struct pci_window {
  enum pci_space space;
  bool prefetchable;
  uint64_t pci_base;
  paddr_t cpu_base;
  uint64_t size;
  uint64_t used; /* bytes handed out from the start, with alignment */
};

#define PCI_MAX_WINDOWS 4
#define PCI_MAX_FUNCTIONS 32
#define PCI_BARS 6

struct pci_bar {
  enum pci_space space;
  bool prefetchable;
  uint64_t size;     /* 0: not implemented */
  uint64_t pci_addr; /* assigned bus address (valid when size != 0) */
  paddr_t cpu_addr;  /* the same, as the CPU reaches it */
};

struct pci_function {
  struct pci_host *host;
  uint8_t bus, dev, fn;
  uint16_t vendor_id, device_id;
  uint16_t subsystem_vendor, subsystem_id;
  uint8_t class_base, class_sub, prog_if, revision;
  uint8_t header_type;   /* PCI_HEADER_ENDPOINT or PCI_HEADER_BRIDGE */
  uint8_t interrupt_pin; /* 0: none, 1..4: INTA..INTD */
  bool usable;           /* every memory BAR placed, decoding enabled */
  struct pci_bar bars[PCI_BARS];
};

struct pci_host {
  const struct fdt *fdt;
  int node;
  paddr_t ecam_pa;
  uint64_t ecam_size;
  volatile uint8_t *ecam; /* mapped configuration window (bus_start's) */
  unsigned bus_start, bus_end;
  bool dma_coherent;
  struct pci_window windows[PCI_MAX_WINDOWS];
  unsigned window_count;
  struct pci_function functions[PCI_MAX_FUNCTIONS];
  unsigned function_count;
};

/* The next ECAM host bridge node after `from` (-1: the first). */
rl_status pci_host_find(const struct fdt *fdt, int from, int *node);
/* Reads the node (reg, bus-range, ranges, dma-coherent) and maps the
 * configuration window of its buses. RL_ERR_BAD_FORMAT for a node that
 * does not follow the binding. */
rl_status pci_host_init(const struct fdt *fdt, int node, struct pci_host *host);

/* Finds the functions on bus_start, sizes and assigns their BARs,
 * enables memory decoding and bus mastering; a function whose memory
 * BARs do not fit a window is left disabled (usable false) with a
 * message. RL_ERR_NO_SPACE when more functions exist than fit the
 * table (the first ones are kept). */
rl_status pci_enumerate(struct pci_host *host);

/* Configuration space of one function (offsets below PCI_ECAM_FN_SIZE;
 * aligned to the width). */
uint8_t pci_cfg_read8(const struct pci_function *f, unsigned offset);
uint16_t pci_cfg_read16(const struct pci_function *f, unsigned offset);
uint32_t pci_cfg_read32(const struct pci_function *f, unsigned offset);
void pci_cfg_write16(const struct pci_function *f, unsigned offset,
                     uint16_t value);
void pci_cfg_write32(const struct pci_function *f, unsigned offset,
                     uint32_t value);

/* Capability list walk (§6.7): the offset of the first capability with
 * id `id` after `from` (0: from the start). RL_ERR_NOT_FOUND at the end
 * of the list, RL_ERR_BAD_FORMAT for a pointer outside [0x40, 0x100) or
 * a list longer than the space can hold (a loop). */
rl_status pci_cap_find(const struct pci_function *f, uint8_t id, unsigned from,
                       unsigned *offset);

/* The interrupt-map entry for the function's INTx pin: the parent
 * controller's specifier cells, ready for arch_irq_from_dt.
 * RL_ERR_NOT_FOUND when the function has no pin or no entry matches. */
rl_status pci_intx_spec(const struct pci_function *f, uint32_t *cells,
                        size_t max, size_t *ncells);

/* The MSI controller node the bridge names for the function and the id
 * its MSIs carry there, for arch_msi_alloc: msi-map translates the
 * requester id (masked by msi-map-mask) to msi-base + (rid - rid-base);
 * with msi-parent the id is the requester id. RL_ERR_NOT_FOUND when the
 * bridge names none (or msi-map leaves the function out),
 * RL_ERR_BAD_FORMAT for a phandle that names no node. */
rl_status pci_msi_controller(const struct pci_function *f, int *ctrl,
                             uint32_t *devid);

/* "00:02.0" */
void pci_function_name(const struct pci_function *f, char *buf, size_t size);

#endif
