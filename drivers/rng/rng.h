/* virtio-rng (virtio 1.2 §5.4): entropy from the device. */
#ifndef DRIVERS_RNG_H
#define DRIVERS_RNG_H

#include <ringlight/status.h>
#include <ringlight/types.h>

/* Fills `buf` with up to `len` bytes (at most one page per call) and
 * says how many in *got. RL_ERR_NOT_FOUND when no rng device is bound. */
rl_status virtio_rng_read(void *buf, size_t len, size_t *got);

#endif
