/* virtio-input (virtio 1.2 §5.8): keyboards, mice, tablets. The events
 * reach their consumers through lib/input/input.h (input_subscribe); this
 * header is for the kernel's and the tests' view of the devices.
 *
 * Every bound device has its own state (struct vinput, in the device's
 * `priv`); input_get(i) is the i-th device whose probe succeeded. */
#ifndef DRIVERS_INPUT_INPUT_H
#define DRIVERS_INPUT_INPUT_H

#include <lib/input/input.h>

struct vinput;
struct virtio_device;

unsigned input_count(void);
struct vinput *input_get(unsigned i);
/* The device as the event interface describes it (NULL for NULL). */
const struct input_source *input_source_of(const struct vinput *v);

struct input_stats {
  unsigned long events;     /* delivered */
  unsigned long bad_length; /* dropped: the device wrote other than 8 bytes */
  unsigned long unknown;    /* dropped: a type or code not announced */
  unsigned long refill_errors; /* a buffer that could not be put back */
  unsigned long overflows;     /* more used buffers than posted (never) */
  unsigned long leds;          /* LED changes sent on the status queue */
};
void input_stats(const struct vinput *v, struct input_stats *out);

/* Unbinds the driver from `dev` and frees its state, once the device has
 * been reset (it owns none of the buffers then). */
void input_remove(struct virtio_device *dev);

#endif
