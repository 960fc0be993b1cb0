/* A virtio entropy device for host tests (virtio 1.2 §5.4) on the
 * virtio-mmio model: one request queue of device-writable buffers, each
 * filled with at most `max_bytes` bytes (QEMU's virtio-rng max-bytes): a
 * device may write fewer bytes than the buffer offers, and the used
 * length says how many. The bytes follow a known sequence the test reads
 * back (rng_model_last). */
#ifndef TESTS_UNIT_DEVICES_RNG_MODEL_H
#define TESTS_UNIT_DEVICES_RNG_MODEL_H

#include "vmmio.h"

struct rng_model_config {
  uint32_t version;   /* virtio-mmio 1 or 2 */
  uint64_t transport; /* transport features offered */
  uint32_t max_bytes; /* per request; 0: the whole buffer */
  uint64_t seed;      /* of the byte sequence; 0: the default */
  unsigned irq;
  paddr_t pa;
};

struct rng_model;

struct rng_model *rng_model_create(const struct rng_model_config *cfg);
void rng_model_destroy(struct rng_model *r);
struct vm_dev *rng_model_vm(struct rng_model *r);
void rng_model_set_max(struct rng_model *r, uint32_t max_bytes);
/* The next answer says it wrote one byte more than its buffer holds (a
 * device writing nonsense: the driver's queue breaks). */
void rng_model_overrun_once(struct rng_model *r);
/* What the last answered request received: its bytes and their count,
 * and the buffer's writable length. */
const uint8_t *rng_model_last(const struct rng_model *r, uint32_t *len,
                              uint32_t *offered);
unsigned long rng_model_requests(const struct rng_model *r);

#endif
