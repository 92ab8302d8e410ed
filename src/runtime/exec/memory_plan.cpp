// Memory planning: pack buffers with known live ranges into one arena (greedy by size, best-fit gaps).
#include <algorithm>
#include <cstdio>
#include <numeric>

#include "tl/runtime.h"

namespace tl {

namespace {
std::string human(size_t b) {
  char buf[32];
  if (b < 1024)
    std::snprintf(buf, sizeof buf, "%zu B", b);
  else if (b < (size_t(1) << 20))
    std::snprintf(buf, sizeof buf, "%.1f KiB", double(b) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%.1f MiB", double(b) / double(1 << 20));
  return buf;
}
}  // namespace

std::string MemoryPlan::describe() const {
  char pct[32];
  std::snprintf(pct, sizeof pct, "%.0f%%", naive_bytes ? 100.0 * double(arena_bytes) / double(naive_bytes) : 100.0);
  return "arena " + human(arena_bytes) + " for " + std::to_string(slots.size()) + " buffers (naive " +
         human(naive_bytes) + ", " + pct + ")";
}

MemoryPlan plan_memory(std::vector<BufferSlot> slots, bool reuse) {
  MemoryPlan plan;
  for (BufferSlot& s : slots) {
    if (s.first > s.last) TL_THROW(ValueError, "plan_memory: slot for value ", s.value.id, " has live range [", s.first, ", ", s.last, "]");
    s.bytes = (s.bytes + 63) / 64 * 64;
    plan.naive_bytes += s.bytes;
  }
  if (!reuse) {
    size_t off = 0;
    for (BufferSlot& s : slots) {
      s.offset = off;
      off += s.bytes;
    }
    plan.arena_bytes = off;
    plan.slots = std::move(slots);
    return plan;
  }
  std::vector<size_t> order(slots.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (slots[a].bytes != slots[b].bytes) return slots[a].bytes > slots[b].bytes;
    return slots[a].first < slots[b].first;
  });
  std::vector<size_t> placed;  // indices into slots
  std::vector<const BufferSlot*> live;
  for (size_t idx : order) {
    BufferSlot& s = slots[idx];
    if (s.bytes == 0) {
      s.offset = 0;
      continue;
    }
    live.clear();
    for (size_t p : placed) {
      const BufferSlot& o = slots[p];
      if (o.first <= s.last && s.first <= o.last) live.push_back(&o);
    }
    std::sort(live.begin(), live.end(), [](const BufferSlot* a, const BufferSlot* b) { return a->offset < b->offset; });
    size_t end = 0, best = SIZE_MAX, best_gap = SIZE_MAX;
    for (const BufferSlot* o : live) {
      if (o->offset > end) {
        size_t gap = o->offset - end;
        if (gap >= s.bytes && gap < best_gap) {
          best = end;
          best_gap = gap;
        }
      }
      end = std::max(end, o->offset + o->bytes);
    }
    s.offset = best != SIZE_MAX ? best : end;
    plan.arena_bytes = std::max(plan.arena_bytes, s.offset + s.bytes);
    placed.push_back(idx);
  }
  plan.slots = std::move(slots);
  return plan;
}

}  // namespace tl
