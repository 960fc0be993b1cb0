/* A model of a PCI bus 0 behind an ECAM window, written from the PCI
 * Local Bus 3.0 spec (§6.1 header, §6.2.5.1 BAR sizing, §6.7
 * capabilities), for host tests of pci/ and the virtio-pci transport. It
 * answers through the host MMIO hook; functions, BARs and capability
 * lists are set up by the test, and anything can be made to lie. */
#ifndef TESTS_DEVICES_PCI_MODEL_H
#define TESTS_DEVICES_PCI_MODEL_H

#include <ringlight/status.h>
#include <ringlight/types.h>

typedef uint32_t (*pci_model_bar_read)(void *ctx, size_t offset,
                                       unsigned width);
typedef void (*pci_model_bar_write)(void *ctx, size_t offset, unsigned width,
                                    uint32_t value);

struct pci_model_fn {
  bool present;
  /* What answers inside a BAR, once the kernel maps it (NULL: nothing). */
  pci_model_bar_read bar_read[6];
  pci_model_bar_write bar_write[6];
  void *bar_ctx[6];
  volatile void *bar_va[6]; /* where its window is registered */
  uint8_t cfg[4096];
  /* 0: no BAR; a 64-bit BAR's size sits at its low index. */
  uint64_t bar_size[6];
  uint32_t bar_raw_mask[6]; /* non-zero: what all-ones reads back (a lie) */
  uint16_t command_writable;
  /* Writes outside the command register and the BARs (NULL: read-only):
   * a capability's registers (vpci_model.c's MSI-X). */
  void (*cfg_write)(void *ctx, unsigned reg, unsigned width, uint32_t value);
  void *cfg_ctx;
};

struct pci_model {
  struct pci_model_fn *fns; /* [32 * 8], bus 0 */
  uint8_t *arena;           /* reserved address space, never touched */
  size_t arena_used;
  paddr_t ecam_pa; /* the last ECAM mapping's (for tests) */
  uint64_t ecam_size;
  unsigned sizing_while_decoding; /* BAR all-ones writes with decoding on */
};

/* A bus with no function. Its ECAM window answers at the start of a
 * reserved address range. */
rl_status pci_model_init(struct pci_model *m);
void pci_model_free(struct pci_model *m);
/* Back to a bus with no function, keeping the reserved range (fast, for
 * a fuzzer's every input). */
void pci_model_reset(struct pci_model *m);

/* arch_ioremap for a test on this model: an address inside an assigned
 * memory BAR with a handler maps that BAR's window (PCI addresses equal
 * CPU addresses, as in QEMU's windows); any other is the ECAM window. */
rl_status pci_model_ioremap(struct pci_model *m, paddr_t pa, uint64_t size,
                            volatile void **out);
/* Who answers inside BAR `i` of `f`. */
void pci_model_bar_handler(struct pci_model_fn *f, unsigned i,
                           pci_model_bar_read read, pci_model_bar_write write,
                           void *ctx);

/* A function: vendor, device, class (base << 8 | sub), header type
 * (bit 7: multi-function); interrupt pin 1 (INTA). */
struct pci_model_fn *pci_model_add(struct pci_model *m, unsigned dev,
                                   unsigned fn, uint16_t vendor,
                                   uint16_t device, uint16_t class_code,
                                   uint8_t header_type);
/* BAR `i`: a memory BAR of `size` bytes (power of two) with flags
 * (PCI_BAR_MEM_64, PCI_BAR_PREFETCH), or PCI_BAR_IO. */
void pci_model_bar(struct pci_model_fn *f, unsigned i, uint64_t size,
                   uint32_t flags);
/* A capability at `at` with `len` bytes of body after id and next, the
 * list linked in the order of the calls (next set by the following
 * call; 0 ends it). */
void pci_model_cap(struct pci_model_fn *f, unsigned at, uint8_t id,
                   const void *body, size_t len);

/* Little-endian accessors of a function's configuration bytes. */
uint32_t pci_model_get32(const struct pci_model_fn *f, unsigned at);
void pci_model_set32(struct pci_model_fn *f, unsigned at, uint32_t v);

#endif
