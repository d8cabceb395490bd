// Library functions the sandbox puts in place of Lua's own, because Lua's
// run loops in C that no hook reaches, whose length a script chooses without
// holding the memory it would take:
//
// - `string.rep("", n)` copies nothing n times;
// - `table.insert(t, pos, v)` and `table.remove(t, pos)` shift `#t - pos`
//   elements, and `__len` can claim 2^62 of them in an empty table;
// - `table.move` copies as many elements as its arguments say, nil ones too;
// - `table.sort` compares numbers and strings in C between calls;
// - `load` compiles a whole string before any hook can run.
//
// Each does what Lua 5.4's does (arguments, results, error messages), and
// looks at the host's stop flag as it goes, so that the time limit and Ctrl-C
// stop it like any Lua loop.
#include "internal.h"

#include <limits.h>
#include <string.h>

// MARK: - string.rep

int jr_str_rep(lua_State *L) {
    size_t length, separator_length;
    const char *s = luaL_checklstring(L, 1, &length);
    lua_Integer n = luaL_checkinteger(L, 2);
    const char *separator = luaL_optlstring(L, 3, "", &separator_length);
    if (n <= 0 || length + separator_length == 0) {  // nothing to repeat: no loop at all
        lua_pushliteral(L, "");
        return 1;
    }
    // Lua's own bound: a result under 2 GiB.
    if (length + separator_length < length || length + separator_length > (size_t)INT_MAX / (size_t)n) {
        return luaL_error(L, "resulting string too large");
    }
    // Its size is known, and held by the heap (and so under the memory limit)
    // before any byte is copied. One copy and its separator, then what is
    // written so far copied after itself: a few dozen copies, not n.
    size_t total = (size_t)n * length + (size_t)(n - 1) * separator_length;
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, total);
    memcpy(p, s, length);
    size_t done = length;
    if (n > 1) {
        size_t unit = length + separator_length;
        memcpy(p + length, separator, separator_length);
        memcpy(p + unit, s, length);
        done = unit + length;  // two copies and the separator between them
        while (done < total) {
            // `done` is k units less one separator: copy a separator, then the k units less one.
            size_t chunk = done + separator_length;
            if (chunk > total - done) chunk = total - done;
            size_t head = separator_length < chunk ? separator_length : chunk;
            memcpy(p + done, separator, head);
            memcpy(p + done + head, p, chunk - head);
            done += chunk;
            jr_check_stop(L);
        }
    }
    luaL_pushresultsize(&b, total);
    return 1;
}

// MARK: - table

enum { TAB_READ = 1, TAB_WRITE = 2, TAB_LENGTH = 4 };

// Whether the metatable on top has the field `key` (pushed; `depth` counts what to pop).
static int has_metafield(lua_State *L, const char *key, int depth) {
    lua_pushstring(L, key);
    return lua_rawget(L, -depth) != LUA_TNIL;
}

// Argument `arg` must be a table, or act like one for `what`.
static void check_table(lua_State *L, int arg, int what) {
    if (lua_type(L, arg) == LUA_TTABLE) return;
    int n = 1;
    if (lua_getmetatable(L, arg) && (!(what & TAB_READ) || has_metafield(L, "__index", ++n)) &&
        (!(what & TAB_WRITE) || has_metafield(L, "__newindex", ++n)) &&
        (!(what & TAB_LENGTH) || has_metafield(L, "__len", ++n))) {
        lua_pop(L, n);
    } else {
        luaL_checktype(L, arg, LUA_TTABLE);  // raises the usual message
    }
}

static lua_Integer table_length(lua_State *L, int arg, int what) {
    check_table(L, arg, what | TAB_LENGTH);
    return luaL_len(L, arg);
}

static inline void every_so_often(lua_State *L, int *until_check) {
    if (--*until_check == 0) {
        *until_check = JR_STOP_CHECK_EVERY;
        jr_check_stop(L);
    }
}

int jr_tab_insert(lua_State *L) {
    lua_Integer end = luaL_intop(+, table_length(L, 1, TAB_READ | TAB_WRITE), 1);  // the first empty slot
    lua_Integer position;
    switch (lua_gettop(L)) {
    case 2:
        position = end;
        break;
    case 3: {
        position = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)position - 1u < (lua_Unsigned)end, 2, "position out of bounds");
        int until_check = JR_STOP_CHECK_EVERY;
        for (lua_Integer i = end; i > position; i--) {
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
            every_so_often(L, &until_check);
        }
        break;
    }
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, position);
    return 0;
}

int jr_tab_remove(lua_State *L) {
    lua_Integer size = table_length(L, 1, TAB_READ | TAB_WRITE);
    lua_Integer position = luaL_optinteger(L, 2, size);
    if (position != size) {
        luaL_argcheck(L, (lua_Unsigned)position - 1u <= (lua_Unsigned)size, 2, "position out of bounds");
    }
    lua_geti(L, 1, position);
    int until_check = JR_STOP_CHECK_EVERY;
    for (; position < size; position++) {
        lua_geti(L, 1, position + 1);
        lua_seti(L, 1, position);
        every_so_often(L, &until_check);
    }
    lua_pushnil(L);
    lua_seti(L, 1, position);
    return 1;
}

int jr_tab_move(lua_State *L) {
    lua_Integer first = luaL_checkinteger(L, 2);
    lua_Integer last = luaL_checkinteger(L, 3);
    lua_Integer to = luaL_checkinteger(L, 4);
    int target = !lua_isnoneornil(L, 5) ? 5 : 1;
    check_table(L, 1, TAB_READ);
    check_table(L, target, TAB_WRITE);
    if (last >= first) {
        luaL_argcheck(L, first > 0 || last < LUA_MAXINTEGER + first, 3, "too many elements to move");
        lua_Integer n = last - first + 1;
        luaL_argcheck(L, to <= LUA_MAXINTEGER - n + 1, 4, "destination wrap around");
        int until_check = JR_STOP_CHECK_EVERY;
        if (to > last || to <= first || (target != 1 && !lua_compare(L, 1, target, LUA_OPEQ))) {
            for (lua_Integer i = 0; i < n; i++) {
                lua_geti(L, 1, first + i);
                lua_seti(L, target, to + i);
                every_so_often(L, &until_check);
            }
        } else {
            for (lua_Integer i = n - 1; i >= 0; i--) {
                lua_geti(L, 1, first + i);
                lua_seti(L, target, to + i);
                every_so_often(L, &until_check);
            }
        }
    }
    lua_pushvalue(L, target);
    return 1;
}

// MARK: - table.sort
//
// A quicksort (median of three, insertion sort for short ranges) that falls
// back to heapsort when it recurses too deep, so it never takes more than
// n log n comparisons whatever the input. Elements are read and written with
// lua_geti and lua_seti, as Lua's own sort does, so metamethods apply.

typedef struct Sort {
    lua_State *L;
    int has_comparator;
} Sort;

// Whether a[i] < a[j] for the elements at stack indices i and j. The stop
// is looked at before each comparison: comparing two long strings alone can
// take a while (strcoll over both).
static int sort_less(Sort *s, int i, int j) {
    lua_State *L = s->L;
    if (jr_host_of(L)->stop_reason != JR_STOP_NONE) jr_check_stop(L);
    if (!s->has_comparator) return lua_compare(L, i, j, LUA_OPLT);
    lua_pushvalue(L, 2);
    lua_pushvalue(L, i - 1);  // i and j are negative: they move as values are pushed
    lua_pushvalue(L, j - 2);
    lua_call(L, 2, 1);
    int less = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return less;
}

// Whether t[i] < t[j].
static int less_at(Sort *s, lua_Integer i, lua_Integer j) {
    lua_geti(s->L, 1, i);
    lua_geti(s->L, 1, j);
    int less = sort_less(s, -2, -1);
    lua_pop(s->L, 2);
    return less;
}

static void swap_at(lua_State *L, lua_Integer i, lua_Integer j) {
    lua_geti(L, 1, i);
    lua_geti(L, 1, j);
    lua_seti(L, 1, i);
    lua_seti(L, 1, j);
}

// By swaps of neighbours, so that the table holds its elements at every
// moment: a comparator that raises leaves them all there, as Lua's own does.
static void insertion_sort(Sort *s, lua_Integer lo, lua_Integer hi) {
    for (lua_Integer i = lo + 1; i <= hi; i++) {
        for (lua_Integer j = i; j > lo && less_at(s, j, j - 1); j--) swap_at(s->L, j, j - 1);
    }
}

static void sift_down(Sort *s, lua_Integer lo, lua_Integer root, lua_Integer count) {
    for (;;) {
        lua_Integer child = 2 * root + 1;
        if (child >= count) return;
        if (child + 1 < count && less_at(s, lo + child, lo + child + 1)) child++;
        if (!less_at(s, lo + root, lo + child)) return;
        swap_at(s->L, lo + root, lo + child);
        root = child;
    }
}

static void heap_sort(Sort *s, lua_Integer lo, lua_Integer hi) {
    lua_Integer count = hi - lo + 1;
    for (lua_Integer root = count / 2 - 1; root >= 0; root--) sift_down(s, lo, root, count);
    for (lua_Integer end = count - 1; end > 0; end--) {
        swap_at(s->L, lo, lo + end);
        sift_down(s, lo, 0, end);
    }
}

static void quick_sort(Sort *s, lua_Integer lo, lua_Integer hi, int depth_left) {
    lua_State *L = s->L;
    while (hi - lo >= 16) {
        if (depth_left-- == 0) {
            heap_sort(s, lo, hi);
            return;
        }
        // Median of three at lo, mid, hi; the pivot then goes to hi - 1.
        lua_Integer mid = lo + (hi - lo) / 2;
        if (less_at(s, mid, lo)) swap_at(L, mid, lo);
        if (less_at(s, hi, lo)) swap_at(L, hi, lo);
        if (less_at(s, hi, mid)) swap_at(L, hi, mid);
        swap_at(L, mid, hi - 1);
        lua_geti(L, 1, hi - 1);  // the pivot, kept on the stack while partitioning
        lua_Integer i = lo, j = hi - 1;
        for (;;) {
            // t[lo] <= pivot <= t[hi] stop both scans, unless the order function lies.
            for (;;) {
                lua_geti(L, 1, ++i);
                int less = sort_less(s, -1, -2);
                lua_pop(L, 1);
                if (!less) break;
                if (i >= hi) luaL_error(L, "invalid order function for sorting");
            }
            for (;;) {
                lua_geti(L, 1, --j);
                int less = sort_less(s, -2, -1);
                lua_pop(L, 1);
                if (!less) break;
                if (j <= lo) luaL_error(L, "invalid order function for sorting");
            }
            if (i >= j) break;
            swap_at(L, i, j);
        }
        lua_pop(L, 1);
        swap_at(L, i, hi - 1);
        // The shorter side first, by recursion; the longer one in this loop.
        if (i - lo < hi - i) {
            quick_sort(s, lo, i - 1, depth_left);
            lo = i + 1;
        } else {
            quick_sort(s, i + 1, hi, depth_left);
            hi = i - 1;
        }
    }
    insertion_sort(s, lo, hi);
}

int jr_tab_sort(lua_State *L) {
    lua_Integer n = table_length(L, 1, TAB_READ | TAB_WRITE);
    if (n > 1) {
        luaL_argcheck(L, n < INT_MAX, 1, "array too big");
        int has_comparator = !lua_isnoneornil(L, 2);
        if (has_comparator) luaL_checktype(L, 2, LUA_TFUNCTION);
        lua_settop(L, 2);
        luaL_checkstack(L, 8, "table.sort");
        Sort s = {L, has_comparator};
        int depth = 0;
        for (lua_Integer k = n; k > 0; k >>= 1) depth += 2;
        quick_sort(&s, 1, n, depth);
    }
    return 0;
}

// MARK: - load

typedef struct ChunkPieces {
    const char *next;
    size_t left;
} ChunkPieces;

// Hands a text chunk to the compiler 64 KiB at a time, looking at the stop
// flag between pieces: a pending stop ends the chunk there, and is raised at
// the script's next instruction (the chunk, whole or not, never runs).
static const char *next_piece(lua_State *L, void *data, size_t *size) {
    ChunkPieces *pieces = (ChunkPieces *)data;
    jr_host *h = jr_host_of(L);
    if (pieces->left == 0 || (h->stop_reason != JR_STOP_NONE && !h->memory_recovered)) {
        *size = 0;
        return NULL;
    }
    size_t n = pieces->left < 65536 ? pieces->left : 65536;
    const char *piece = pieces->next;
    pieces->next += n;
    pieces->left -= n;
    *size = n;
    return piece;
}

// What a reader function returns is kept here, so that the compiler can read it.
#define READER_SLOT 5

static const char *call_reader(lua_State *L, void *data, size_t *size) {
    (void)data;
    luaL_checkstack(L, 2, "too many nested functions");
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        *size = 0;
        return NULL;
    }
    if (!lua_isstring(L, -1)) luaL_error(L, "reader function must return a string");
    lua_replace(L, READER_SLOT);
    return lua_tolstring(L, READER_SLOT, size);
}

// load() for text chunks only: the compiler is always told "t", so that no
// binary chunk is ever loaded; a text chunk under a mode without "t" is
// refused as Lua refuses it. A string chunk is compiled in pieces (above); a
// reader function is Lua code, stopped as such.
int jr_safe_load(lua_State *L) {
    size_t length;
    const char *s = lua_tolstring(L, 1, &length);
    const char *mode = luaL_optstring(L, 3, "bt");
    int env = !lua_isnone(L, 4) ? 4 : 0;
    int status;
    if (s != NULL) {
        const char *chunkname = luaL_optstring(L, 2, s);
        if (strchr(mode, 't') == NULL && (length == 0 || s[0] != LUA_SIGNATURE[0])) {
            lua_pushnil(L);
            lua_pushfstring(L, "attempt to load a text chunk (mode is '%s')", mode);
            return 2;
        }
        ChunkPieces pieces = {s, length};
        status = lua_load(L, next_piece, &pieces, chunkname, "t");
    } else {
        const char *chunkname = luaL_optstring(L, 2, "=(load)");
        luaL_checktype(L, 1, LUA_TFUNCTION);
        lua_settop(L, READER_SLOT);
        status = lua_load(L, call_reader, NULL, chunkname, "t");
    }
    if (status != LUA_OK) {
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (env != 0) {
        lua_pushvalue(L, env);
        if (!lua_setupvalue(L, -2, 1)) lua_pop(L, 1);
    }
    return 1;
}

// MARK: - setmetatable

// setmetatable() that refuses a metatable with `__gc`. Lua runs finalizers
// with hooks turned off (during any allocation, and when the VM closes), so
// no limit could stop one; a rule has no use for them.
int jr_safe_setmetatable(lua_State *L) {
    int type = lua_type(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_argexpected(L, type == LUA_TNIL || type == LUA_TTABLE, 2, "nil or table");
    if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL) return luaL_error(L, "cannot change a protected metatable");
    if (type == LUA_TTABLE) {
        lua_pushliteral(L, "__gc");
        if (lua_rawget(L, 2) != LUA_TNIL) {
            return luaL_error(L, "a __gc finalizer is not allowed in rules and scripts (it would run outside the time "
                                 "and memory limits)");
        }
    }
    lua_settop(L, 2);
    lua_setmetatable(L, 1);
    return 1;
}
