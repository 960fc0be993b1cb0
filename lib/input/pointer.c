/* Pointer tracking (input.h): tablet positions scaled, mouse moves summed
 * and clamped, one move per SYN_REPORT batch. */
#include <lib/input/input.h>

uint32_t input_scale_abs(int32_t v, int32_t min, int32_t max, uint32_t size) {
  if (max <= min || size == 0) {
    return 0;
  }
  if (v < min) {
    v = min;
  }
  if (v > max) {
    v = max;
  }
  uint64_t range = (uint64_t)((int64_t)max - min) + 1;
  uint64_t pos = (uint64_t)((int64_t)v - min) * size / range;
  return pos < size ? (uint32_t)pos : size - 1;
}

static uint32_t clamp_add(uint32_t pos, int64_t delta, uint32_t size) {
  int64_t p = (int64_t)pos + delta;
  if (p < 0) {
    return 0;
  }
  if (p >= (int64_t)size) {
    return size - 1;
  }
  return (uint32_t)p;
}

/* Bounds a sum of relative moves: far beyond any scanout, never near an
 * overflow. */
#define REL_LIMIT ((int64_t)1 << 40)

bool input_pointer_feed(struct input_pointer *p, const struct input_source *src,
                        const struct input_event *ev, uint32_t w, uint32_t h,
                        uint32_t *x, uint32_t *y) {
  if (ev->type == EV_ABS && (ev->code == ABS_X || ev->code == ABS_Y)) {
    if (ev->code == ABS_X) {
      p->abs_x = ev->value;
      p->have_abs_x = true;
    } else {
      p->abs_y = ev->value;
      p->have_abs_y = true;
    }
    p->moved = true;
    return false;
  }
  if (ev->type == EV_REL && (ev->code == REL_X || ev->code == REL_Y)) {
    int64_t *sum = ev->code == REL_X ? &p->rel_x : &p->rel_y;
    if (*sum > -REL_LIMIT && *sum < REL_LIMIT) {
      *sum += ev->value;
    }
    p->moved = true;
    return false;
  }
  if (ev->type != EV_SYN || ev->code != SYN_REPORT || !p->moved) {
    return false;
  }
  p->moved = false;
  if (w == 0 || h == 0) {
    p->have_abs_x = p->have_abs_y = false;
    p->rel_x = p->rel_y = 0;
    return false;
  }
  if (!p->placed || p->x >= w || p->y >= h) {
    /* Where the GPU shows its cursor first: the centre. */
    p->x = w / 2;
    p->y = h / 2;
    p->placed = true;
  }
  if (p->have_abs_x && src->abs_x.valid) {
    p->x = input_scale_abs(p->abs_x, src->abs_x.min, src->abs_x.max, w);
  }
  if (p->have_abs_y && src->abs_y.valid) {
    p->y = input_scale_abs(p->abs_y, src->abs_y.min, src->abs_y.max, h);
  }
  p->x = clamp_add(p->x, p->rel_x, w);
  p->y = clamp_add(p->y, p->rel_y, h);
  p->have_abs_x = p->have_abs_y = false;
  p->rel_x = p->rel_y = 0;
  *x = p->x;
  *y = p->y;
  return true;
}
