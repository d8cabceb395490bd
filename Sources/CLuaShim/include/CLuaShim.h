// The C side of the Lua host: what Swift cannot import (Lua's function-like
// macros), and what must not run in a Swift frame (anything that raises a Lua
// error, which longjmps).
#ifndef JOBRULES_CLUASHIM_H
#define JOBRULES_CLUASHIM_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <pthread.h>
#include <time.h>
#include <stdio.h>

// MARK: - Twins of Lua's macros (Swift imports no function-like macros)

static inline int jr_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline void jr_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void jr_newtable(lua_State *L) { lua_newtable(L); }
static inline void jr_remove(lua_State *L, int idx) { lua_remove(L, idx); }
static inline int jr_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
static inline const char *jr_typename_at(lua_State *L, int idx) { return luaL_typename(L, idx); }
static inline void jr_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
// Swift 6 refuses the mutable global `stdout`; print shares its buffer with Swift's own print.
static inline FILE *jr_stdout(void) { return stdout; }
static inline FILE *jr_stderr(void) { return stderr; }
// lua_gc is variadic, which Swift cannot call.
static inline void jr_collectgarbage(lua_State *L) { lua_gc(L, LUA_GCCOLLECT); }

// MARK: - Codes a host function returns to the trampoline

/// The host function succeeded; the number of results is the return value (>= 0).
/// Negative values ask the trampoline to raise, after the Swift frame is gone:
enum {
    /// A string is on top: prefix it with the caller's position and raise it.
    JR_RAISE_MESSAGE = -1,
    /// Raise the value on top as it is.
    JR_RAISE_VALUE = -2,
    /// `luaL_argerror(L, host->error_argument, <string on top>)`.
    JR_RAISE_ARGUMENT = -3,
    /// `luaL_typeerror(L, host->error_argument, <expected type name on top>)`.
    JR_RAISE_TYPE = -4,
};

/// What the dispatcher is asked to do with a host target.
enum {
    JR_OP_CALL = 0,      ///< call a registered function
    JR_OP_GET = 1,       ///< read field number `field` of the object at 1
    JR_OP_SET = 2,       ///< write field number `field` (or -1: unknown key at 2) with the value at 3
    JR_OP_TOSTRING = 3,  ///< `tostring(object)`
    JR_OP_GC = 4,        ///< the object at 1 is being collected
    JR_OP_EQ = 5,        ///< `a == b` for two objects of one type
};

/// Why a running chunk is being stopped.
enum {
    JR_STOP_NONE = 0,
    JR_STOP_TIME = 1,
    JR_STOP_MEMORY = 2,
    JR_STOP_INTERRUPT = 3,
};

typedef int (*jr_dispatch_fn)(lua_State *L, void *target, int op, lua_Integer field);
typedef void (*jr_output_fn)(void *context, const char *bytes, size_t length);

#define JR_MAX_ACTIVE_THREADS 256

/// Per-VM state shared by the allocator, the hooks, the trampolines and Swift.
/// Lives at a stable address for the VM's whole life (owned by Swift).
typedef struct jr_host {
    lua_State *main;

    // Memory (the allocator's bookkeeping).
    size_t used;
    size_t peak;
    size_t limit;               ///< 0: no limit
    int in_host;                ///< > 0 while a host function runs: allocations don't fail then
    size_t refused_size;        ///< the growth last refused
    int memory_recovered;       ///< a later allocation of that size succeeded
    /// Memory the host holds for what scripts did (their changes to the
    /// store), counted against the same limit: `*held_counter - held_base`
    /// bytes, the growth since the outermost protected call began.
    const intptr_t *held_counter;
    intptr_t held_base;
    /// `jr_held` as of the last host call that could change it (read there
    /// once, not at every allocation).
    size_t held_now;

    // Stopping a chunk: set by the allocator, the timer signal or an interrupt.
    volatile sig_atomic_t stop_reason;

    // Time limit: a one-shot timer whose signal installs the stopping hook.
    volatile int64_t deadline_ns;       ///< CLOCK_MONOTONIC; 0: no deadline
    volatile int64_t timer_expiry_ns;
    volatile sig_atomic_t timer_armed;
    int timer_created;
    timer_t timer;
    pthread_t timer_thread;

    // The chain of running coroutines, innermost last (for stopping them all).
    lua_State *active[JR_MAX_ACTIVE_THREADS];
    volatile int active_count;

    // Calls into Swift.
    jr_dispatch_fn dispatch;
    jr_output_fn output;
    void *output_context;
    int error_argument;

    /// Field caches of host objects hold values of this epoch only: every
    /// host call, field write and protected call ends it (and empties them).
    uint64_t epoch;
    int caches_listed;  ///< caches holding values (in the registry's list)

    // Where the last error happened (filled by the message handler).
    char error_source[LUA_IDSIZE];
    int error_line;
    int has_traceback;
} jr_host;

// MARK: - The VM

/// Creates a state whose allocator, extra space and hooks point at `host`.
lua_State *jr_newstate(jr_host *host);
/// Closes the state and frees the timer.
void jr_close(jr_host *host);
static inline jr_host *jr_host_of(lua_State *L) { return *(jr_host **)lua_getextraspace(L); }
/// Bytes the host holds for the running call (see `held_counter`).
static inline size_t jr_held(const jr_host *h) {
    if (h->held_counter == NULL) return 0;
    intptr_t held = *h->held_counter - h->held_base;
    return held > 0 ? (size_t)held : 0;
}

/// Opens the standard libraries and builds the sandbox (see shim.c). Status code.
int jr_open_sandbox(lua_State *L);

/// Loads text (never binary) chunk; status code, message or function on top.
int jr_load(lua_State *L, const char *bytes, size_t length, const char *chunkname);

/// Calls the function below `nargs` arguments through a protected call with a
/// message handler that records the error position and a traceback. Host
/// functions calling back into Lua use this too.
int jr_pcall(lua_State *L, int nargs, int nresults);

/// Pushes the traceback of the last error (or nil).
void jr_push_traceback(lua_State *L);

// MARK: - Limits

/// Arms the time limit: chunks running past `deadline_ns` (CLOCK_MONOTONIC) are stopped.
/// Returns 0, or an errno value when the timer can't be created.
int jr_arm_deadline(jr_host *host, int64_t deadline_ns);
void jr_disarm_deadline(jr_host *host);
/// Stops a pending expiry of the timer (a syscall; for a host about to wait
/// for a person, whose idle time must not be interrupted by a stale expiry).
void jr_quiesce_timer(jr_host *host);
int64_t jr_monotonic_ns(void);
/// Stops the running chunk at its next instruction. Async-signal-safe.
void jr_request_stop(jr_host *host, int reason);
/// Clears a stop once the protected call that was stopped has returned.
void jr_clear_stop(jr_host *host);

// MARK: - Host functions and objects

/// Pushes a C closure that dispatches to `target` (a Swift object) with JR_OP_CALL.
void jr_pushhostfunction(lua_State *L, void *target);

/// Builds the metatable of a host object type and leaves it on top:
/// `__index` (methods from the table at `methods`, fields by index from
/// the table at `fields`), `__newindex`, `__tostring`, `__name`, `__eq`,
/// `__metatable` and, when `collectable`, `__gc`. Both tables are popped.
void jr_newobjecttype(lua_State *L, void *target, const char *name, int collectable);

/// The layout of a host object's userdata: a header, then the Swift payload.
/// An object read often gets a field cache (see shim.c): its user value.
typedef struct jr_object_header {
    uint32_t type_id;
    uint8_t alive;
    uint8_t cached;    ///< its cache is listed: it may hold field values of this epoch
    uint8_t promoted;  ///< it has a cache (and its own metatable)
    uint8_t reads;     ///< field reads in `epoch` (up to when it gets a cache)
    uint32_t epoch;    ///< the host's epoch (its low 32 bits) at the last counted read
    uint32_t lifetime_reads;  ///< field reads over the object's life (saturating)
} jr_object_header;

/// In a field's index (the type's field table): the field is constant, its
/// value the same for the object's whole life (see shim.c's field caches).
#define JR_FIELD_CONSTANT ((lua_Integer)1 << 24)
#define JR_FIELD_INDEX (JR_FIELD_CONSTANT - 1)

/// Drops every constant field value cached in objects (a reloaded store).
void jr_forget_constants(lua_State *L);

static inline size_t jr_object_payload_offset(void) { return sizeof(jr_object_header) > 8 ? sizeof(jr_object_header) : 8; }

/// New userdata for a host object of `type_id` with `payload_size` bytes; returns the payload.
void *jr_newobject(lua_State *L, uint32_t type_id, size_t payload_size);
/// The payload of the host object at `idx` if its type is `type_id`, else NULL.
void *jr_toobject(lua_State *L, int idx, uint32_t type_id);
/// The payload of the object a metamethod of its type was called on (argument
/// 1, which the VM guarantees to be one of that type's userdata), or NULL
/// once it was collected.
void *jr_object_self(lua_State *L);
/// Pushes a copy of the table at `idx`: its tables copied too, down to
/// `depth` levels (deeper ones shared); keys and other values as they are.
/// Raw access only, no metatables. Host work: allocations don't fail.
void jr_push_table_copy(lua_State *L, int idx, int depth);
/// The type id of the host object at `idx`, or 0 when it is not one.
uint32_t jr_objecttype(lua_State *L, int idx);

// MARK: - Sandbox helpers

/// Sets `name` in the host globals (read-only to scripts) to the value on top (popped).
void jr_sethostglobal(lua_State *L, const char *name);
/// Pushes the host global `name` (or nil).
int jr_gethostglobal(lua_State *L, const char *name);
/// Replaces the table on top by a read-only proxy of it named `name`.
void jr_readonly(lua_State *L, const char *name);

// MARK: - Helpers for host functions (none of them raises)

/// Pops the table on top and pushes an iterator function over its sequence
/// `t[1], t[2], …` (for `for x in list_iterator do`); it stops at the first nil.
void jr_pushlistiterator(lua_State *L);

/// The source (`short_src`) and current line of the Lua function `level`
/// levels up the call stack (1: the caller of the running host function).
/// Returns 0 when there is no such function or it has no line.
int jr_where(lua_State *L, int level, char *source, size_t capacity, int *line);

// MARK: - Ctrl-C

/// Installs the SIGINT handler (once). From then on SIGINT stops the chunk
/// running on the target host (if any) and writes a byte to a pipe, so that
/// a loop waiting for input sees it too. Returns 0 or an errno value.
int jr_interrupts_install(void);
/// The host whose running chunk SIGINT stops; NULL for none.
void jr_interrupts_target(jr_host *host);
/// The pipe's read end (non-blocking), to wait on with poll.
int jr_interrupts_fd(void);
/// Drains the pipe: 1 if a SIGINT came since the last call, else 0.
int jr_interrupts_take(void);

#endif
