/* The input event interface between input drivers (drivers/input) and
 * their consumers (the kernel's pointer and console wiring, later a
 * shell): a driver describes each device as a `struct input_source` and
 * delivers every event it validated with input_deliver; consumers
 * subscribe a handler. Nothing here knows a device or a display.
 *
 * Events are evdev's (codes.h): a batch of events ends with EV_SYN
 * SYN_REPORT. Delivery happens outside interrupt context (the driver's
 * poll, from the kernel's main loop), so a handler may wait on a device
 * (e.g. move a GPU cursor). */
#ifndef LIB_INPUT_INPUT_H
#define LIB_INPUT_INPUT_H

#include <lib/input/codes.h>
#include <ringlight/status.h>
#include <ringlight/types.h>

/* What a device is, decided from the event types it announces: EV_ABS
 * with X and Y makes a tablet, else EV_REL with X and Y a mouse, else
 * letter keys a keyboard (tablets and mice announce EV_KEY too, for
 * their buttons). */
enum input_kind {
  INPUT_KIND_OTHER = 0,
  INPUT_KIND_KEYBOARD,
  INPUT_KIND_MOUSE,
  INPUT_KIND_TABLET,
};

struct input_absinfo {
  int32_t min, max; /* max > min when valid */
  bool valid;
};

struct input_event {
  uint16_t type;
  uint16_t code;
  int32_t value;
};

struct input_source {
  const char *name; /* the device's ("virtio-input@0xa003e00") */
  enum input_kind kind;
  struct input_absinfo abs_x, abs_y; /* tablets: the ranges of ABS_X/Y */
  /* Sets LED `code` (LED_CAPSL...) on the device; NULL when it has no
   * way to show LEDs. Outside interrupt context; does not wait. */
  rl_status (*set_led)(const struct input_source *src, unsigned code, bool on);
  void *priv; /* the driver's */
};

const char *input_kind_name(enum input_kind kind);

typedef void input_handler_fn(const struct input_source *src,
                              const struct input_event *ev, void *ctx);
#define INPUT_MAX_HANDLERS 4
/* Adds the pair (fn, ctx); adding it again changes nothing;
 * RL_ERR_NO_SPACE when INPUT_MAX_HANDLERS are in use. */
rl_status input_subscribe(input_handler_fn *fn, void *ctx);
void input_unsubscribe(input_handler_fn *fn, const void *ctx);
/* Hands `ev` to every handler, in subscription order. */
void input_deliver(const struct input_source *src,
                   const struct input_event *ev);

/* Pointer tracking: the position of a pointer on a w x h scanout from
 * its events, one move per batch (SYN_REPORT). A tablet's absolute ABS_X
 * and ABS_Y are scaled from [min, max] to [0, size) (input_scale_abs); a
 * mouse's REL_X and REL_Y are summed over the batch and added, clamped
 * to the scanout. */
struct input_pointer {
  uint32_t x, y;
  bool placed; /* x, y valid (else the first batch starts at the centre) */
  bool moved;  /* the batch so far changes the position */
  bool have_abs_x, have_abs_y;
  int32_t abs_x, abs_y;
  int64_t rel_x, rel_y;
};
/* `v` in [min, max] (clamped) to [0, size): (v - min) * size /
 * (max - min + 1). 0 for an invalid range or size 0. */
uint32_t input_scale_abs(int32_t v, int32_t min, int32_t max, uint32_t size);
/* Feeds one event. True at a SYN_REPORT that ends a batch which moved
 * the pointer: *x, *y is the new position on the w x h scanout. */
bool input_pointer_feed(struct input_pointer *p, const struct input_source *src,
                        const struct input_event *ev, uint32_t w, uint32_t h,
                        uint32_t *x, uint32_t *y);

/* Keyboard: a US layout with Shift and Caps Lock. */
struct input_keyboard {
  bool lshift, rshift, caps;
};
/* Feeds one EV_KEY event (value 1 press, 2 repeat, 0 release): the
 * character it types, '\b' for Backspace, '\n' for Enter, 0 for none.
 * *caps_changed is set when Caps Lock toggled (the LED to update). */
char input_key_char(struct input_keyboard *k, uint16_t code, int32_t value,
                    bool *caps_changed);

#endif
