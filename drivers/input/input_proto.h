/* virtio-input's device-free part: what the configuration selects say
 * (sizes checked), the device's class, and every event checked against
 * what the device announced. No device access: host tests and the fuzzer
 * (tests/fuzz/fuzz_input.c) use it alone. */
#ifndef DRIVERS_INPUT_INPUT_PROTO_H
#define DRIVERS_INPUT_INPUT_PROTO_H

#include <lib/input/input.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

#include "virtio_input.h"

/* The event types whose codes the driver reads (EV_BITS subsel) and
 * accepts; EV_SYN's SYN_REPORT and SYN_DROPPED are always accepted. */
#define INPUT_TYPES 7
extern const uint8_t input_types[INPUT_TYPES]; /* EV_KEY, EV_REL, ... */

struct input_caps {
  char name[VIRTIO_INPUT_CFG_DATA_MAX + 1]; /* "" when absent or bad */
  bool have_ids;
  uint16_t bustype, vendor, product, version;
  uint8_t props[VIRTIO_INPUT_CFG_DATA_MAX];
  /* The codes announced for input_types[i]; none for an absent type. */
  uint8_t codes[INPUT_TYPES][VIRTIO_INPUT_CFG_DATA_MAX];
  struct input_absinfo abs_x, abs_y;
  /* Selects the device answered with a size it cannot have (counted;
   * that select's answer ignored). */
  unsigned bad_sizes;
};

/* Takes the answer to one select: `size` as the device reported it,
 * `data` the bytes read (min(size, 128) of them). RL_ERR_BAD_FORMAT when
 * the size cannot be right for the select (over 128, an ABS_INFO not 20
 * bytes, DEVIDS not 8, an ABS_INFO whose max <= min): nothing is taken,
 * bad_sizes counts it. Size 0 means "not supported": RL_OK. */
rl_status input_caps_take(struct input_caps *caps, uint8_t select,
                          uint8_t subsel, uint8_t size, const uint8_t *data);

/* True when the device announced `code` of `type`. */
bool input_caps_has(const struct input_caps *caps, uint16_t type,
                    uint16_t code);
/* Tablet (EV_ABS X and Y with valid ranges), else mouse (EV_REL X and Y),
 * else keyboard (any of the letter keys), else other. */
enum input_kind input_caps_classify(const struct input_caps *caps);

/* Why an event was refused. */
enum input_event_verdict {
  INPUT_EVENT_OK = 0,
  INPUT_EVENT_BAD_LENGTH, /* the device wrote other than 8 bytes */
  INPUT_EVENT_UNKNOWN,    /* a type or code the device did not announce */
};
/* Decodes the `len` bytes the device wrote into `buf` (a buffer of
 * VIRTIO_INPUT_EVENT_SIZE bytes) and checks it. */
enum input_event_verdict input_event_check(const struct input_caps *caps,
                                           const uint8_t *buf, uint32_t len,
                                           struct input_event *ev);

/* §5.8.6: the 8 bytes of a status event (the driver to the device). */
void input_event_encode(uint8_t *buf, uint16_t type, uint16_t code,
                        int32_t value);

#endif
