/* The sessions of _native_relay.c and _native_datagram.c by handle: a table of slots, a session's handle
 * being its slot's index and the slot's generation, which the session's release moves on, so that a handle
 * kept after its session ended finds nothing. A slot is reserved first (its index and generation known,
 * the session not in it yet), then taken once the session is set up, or left free if that failed. */

#ifndef HAPAIR_HANDLES_H
#define HAPAIR_HANDLES_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define HANDLES_MAX (1u << 30) /* the relay keeps an index and a side in 32 bits of an epoll event */

typedef struct {
    void **slots;
    uint32_t *generations;
    uint32_t count, *free, free_count;
} handles_t;

static inline int handles_grow(handles_t *table) {
    uint32_t count = table->count ? 2 * table->count : 64;
    if (count > HANDLES_MAX)
        return -1;
    void **slots = realloc(table->slots, count * sizeof *slots);
    if (slots == NULL)
        return -1;
    table->slots = slots;
    uint32_t *generations = realloc(table->generations, count * sizeof *generations);
    if (generations == NULL)
        return -1;
    table->generations = generations;
    uint32_t *free_slots = realloc(table->free, count * sizeof *free_slots);
    if (free_slots == NULL)
        return -1;
    table->free = free_slots;
    for (uint32_t index = count; index > table->count; index--) {
        slots[index - 1] = NULL;
        generations[index - 1] = 1;
        free_slots[table->free_count++] = index - 1;
    }
    table->count = count;
    return 0;
}

/* The index and generation of the next slot taken; -1 (errno ENOMEM) when the table cannot grow. */
static inline int handles_reserve(handles_t *table, uint32_t *index, uint32_t *generation) {
    if (table->free_count == 0 && handles_grow(table) < 0) {
        errno = ENOMEM;
        return -1;
    }
    *index = table->free[table->free_count - 1];
    *generation = table->generations[*index];
    return 0;
}

/* The reserved slot `index` (the last reserved) given to `item`. */
static inline void handles_take(handles_t *table, uint32_t index, void *item) {
    table->slots[index] = item;
    table->free_count--;
}

/* The item of the handle's slot and generation; NULL when none (never was, or ended since). */
static inline void *handles_find(const handles_t *table, uint32_t index, uint32_t generation) {
    return index < table->count && table->generations[index] == generation ? table->slots[index] : NULL;
}

/* A session's handle, for Python: its generation in the high 32 bits, its index in the low. */
static inline uint64_t handle_of(uint32_t index, uint32_t generation) {
    return ((uint64_t)generation << 32) | index;
}

/* The item of a handle handle_of made; NULL when none. */
static inline void *handles_get(const handles_t *table, uint64_t handle) {
    return handles_find(table, (uint32_t)handle, (uint32_t)(handle >> 32));
}

/* The slot free again, its generation moved on (never 0). */
static inline void handles_release(handles_t *table, uint32_t index) {
    table->slots[index] = NULL;
    uint32_t next = table->generations[index] + 1;
    table->generations[index] = next ? next : 1;
    table->free[table->free_count++] = index;
}

static inline uint32_t handles_used(const handles_t *table) {
    return table->count - table->free_count;
}

static inline void handles_free(handles_t *table) {
    free(table->slots);
    free(table->generations);
    free(table->free);
}

#endif
