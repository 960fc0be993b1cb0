/* A model of a PCI bus 0 behind an ECAM window, written from the PCI
 * Local Bus 3.0 spec (§6.1 header, §6.2.5.1 BAR sizing, §6.7
 * capabilities), for host tests of pci/ and the virtio-pci transport. It
 * answers through the host MMIO hook; functions, BARs and capability
 * lists are set up by the test, and anything can be made to lie. */
#ifndef TESTS_DEVICES_PCI_MODEL_H
#define TESTS_DEVICES_PCI_MODEL_H

#include <ringlight/status.h>
#include <ringlight/types.h>

struct pci_model_fn {
  bool present;
  uint8_t cfg[4096];
  uint64_t
      bar_size[6]; /* 0: no BAR; a 64-bit BAR's size sits at its low index */
  uint32_t bar_raw_mask[6]; /* non-zero: what all-ones reads back (a lie) */
  uint16_t command_writable;
};

struct pci_model {
  struct pci_model_fn *fns;       /* [32 * 8], bus 0 */
  volatile void *base;            /* the registered window */
  unsigned sizing_while_decoding; /* BAR all-ones writes with decoding on */
};

/* A bus with no function, answering at `base` for `size` bytes. */
rl_status pci_model_init(struct pci_model *m, volatile void *base, size_t size);
void pci_model_free(struct pci_model *m);

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
