/* virtio-rng (virtio 1.2 §5.4): entropy from the device.
 *
 * Every bound device has its own state (struct rng, in the device's
 * `priv`); rng_get(i) is the i-th device whose probe succeeded, in probe
 * order. */
#ifndef DRIVERS_RNG_H
#define DRIVERS_RNG_H

#include <ringlight/status.h>
#include <ringlight/types.h>

struct rng;
struct virtio_device;

/* How many devices are bound, and the i-th of them (NULL when
 * i >= rng_count()). */
unsigned rng_count(void);
struct rng *rng_get(unsigned i);
/* The device's name ("virtio-rng@0xa003c00"). */
const char *rng_name(const struct rng *r);

/* Fills `buf` with up to `len` bytes from device `r` (at most one page
 * per call) and says how many in *got. RL_ERR_NOT_FOUND when `r` is NULL
 * or not bound. */
rl_status rng_read(struct rng *r, void *buf, size_t len, size_t *got);
/* rng_read from the first bound device. */
rl_status virtio_rng_read(void *buf, size_t len, size_t *got);

/* Unbinds the driver from `dev` and frees its state; only after
 * virtio_device_reset (the device then owns none of its buffers).
 * Nothing happens for a device the driver never probed. */
void rng_remove(struct virtio_device *dev);

#endif
