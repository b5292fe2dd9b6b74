/* The heap of `proxy_timeout` deadlines that _native_relay.c's TCP sessions and _native_datagram.c's UDP
 * sessions keep: a binary min-heap of entries embedded in the sessions (DEADLINE_OWNER finds the session of
 * an entry), each knowing its position, so that a session leaves the heap in O(log n). An entry may be
 * early: its owner moves it on (deadline_moved_on) when it comes due and the session was active since. */

#ifndef HAPAIR_DEADLINES_H
#define HAPAIR_DEADLINES_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define NO_HEAP SIZE_MAX
#define DEADLINE_OWNER(entry, type, member) ((type *)(void *)((char *)(entry) - offsetof(type, member)))

/* The clock the deadlines are on. */
static inline int64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

typedef struct {
    int64_t at_ns;
    size_t position; /* in the heap; NO_HEAP: not in it */
} deadline_t;

typedef struct {
    deadline_t **entries;
    size_t size, capacity;
} deadlines_t;

static inline void deadlines_swap(deadlines_t *heap, size_t a, size_t b) {
    deadline_t *first = heap->entries[a];
    heap->entries[a] = heap->entries[b];
    heap->entries[b] = first;
    heap->entries[a]->position = a;
    heap->entries[b]->position = b;
}

static inline void deadlines_up(deadlines_t *heap, size_t position) {
    while (position > 0) {
        size_t parent = (position - 1) / 2;
        if (heap->entries[parent]->at_ns <= heap->entries[position]->at_ns)
            return;
        deadlines_swap(heap, parent, position);
        position = parent;
    }
}

static inline void deadlines_down(deadlines_t *heap, size_t position) {
    for (;;) {
        size_t smallest = position, left = 2 * position + 1, right = left + 1;
        if (left < heap->size && heap->entries[left]->at_ns < heap->entries[smallest]->at_ns)
            smallest = left;
        if (right < heap->size && heap->entries[right]->at_ns < heap->entries[smallest]->at_ns)
            smallest = right;
        if (smallest == position)
            return;
        deadlines_swap(heap, smallest, position);
        position = smallest;
    }
}

/* The first deadline's entry; NULL when the heap is empty. */
static inline deadline_t *deadlines_first(const deadlines_t *heap) {
    return heap->size ? heap->entries[0] : NULL;
}

/* 0, or -1 when the heap could not grow. */
static inline int deadlines_push(deadlines_t *heap, deadline_t *entry) {
    if (heap->size == heap->capacity) {
        size_t capacity = heap->capacity ? 2 * heap->capacity : 64;
        deadline_t **entries = realloc(heap->entries, capacity * sizeof *entries);
        if (entries == NULL)
            return -1;
        heap->entries = entries;
        heap->capacity = capacity;
    }
    entry->position = heap->size;
    heap->entries[heap->size++] = entry;
    deadlines_up(heap, entry->position);
    return 0;
}

static inline void deadlines_remove(deadlines_t *heap, deadline_t *entry) {
    size_t position = entry->position;
    if (position == NO_HEAP)
        return;
    entry->position = NO_HEAP;
    deadline_t *last = heap->entries[--heap->size];
    if (position == heap->size)
        return;
    heap->entries[position] = last;
    last->position = position;
    deadlines_up(heap, position);
    deadlines_down(heap, last->position);
}

/* The first entry, due but its session active since, moved on to `at_ns`. */
static inline void deadline_moved_on(deadlines_t *heap, int64_t at_ns) {
    heap->entries[0]->at_ns = at_ns;
    deadlines_down(heap, 0);
}

#endif
