// The C half of the Lua host. Everything here that may raise a Lua error runs
// in a C frame only: Swift code returns codes and these functions raise.
#define _GNU_SOURCE
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <fcntl.h>

// Registry keys (addresses are unique; values unused).
static const char KEY_HOST_GLOBALS = 0;
static const char KEY_PROTECTED = 0;
static const char KEY_TRACEBACK = 0;
static const char KEY_CACHES = 0;  // the field caches holding values
static const char KEY_SELF = 0;    // a field cache's object
static const char KEY_CONSTANTS = 0;        // in a field cache: the set of its keys that are constant fields
static const char KEY_CONSTANT_CACHES = 0;  // the caches holding constant fields (weak keys)

// Memory allowed past the limit once a chunk is being stopped, so that the
// error message and traceback can still be built.
#define JR_STOP_RESERVE ((size_t)1 << 20)

// MARK: - Allocator

static void *jr_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    jr_host *h = (jr_host *)ud;
    if (ptr == NULL) osize = 0;  // osize then encodes the object type
    if (nsize == 0) {
        free(ptr);
        h->used -= osize;
        return NULL;
    }
    if (nsize > osize && h->limit != 0 && h->in_host == 0) {
        size_t allowed = h->limit + (h->stop_reason != JR_STOP_NONE ? JR_STOP_RESERVE : 0);
        size_t used = h->used + h->held_now;
        if (nsize - osize > allowed || used > allowed || nsize - osize > allowed - used) {
            // Refused: stop the chunk so that no pcall in it carries on. Lua
            // may still recover on its own (an emergency collection, then a
            // retry of the same size that succeeds): then the stop is lifted.
            h->refused_size = nsize - osize;
            h->memory_recovered = 0;
            jr_request_stop(h, JR_STOP_MEMORY);
            return NULL;
        }
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) {
        if (nsize <= osize) return ptr;  // Lua assumes shrinking never fails
        return NULL;
    }
    h->used = h->used - osize + nsize;
    if (h->used > h->peak) h->peak = h->used;
    // The retry after an emergency collection succeeded, leaving real room
    // (an eighth of the limit): the chunk may go on. Less room would only
    // trade the stop for a full collection on every allocation.
    if (h->stop_reason == JR_STOP_MEMORY && nsize > osize && nsize - osize >= h->refused_size &&
        h->used + h->held_now <= h->limit - h->limit / 8) {
        h->memory_recovered = 1;
    }
    return p;
}

// MARK: - Stopping a chunk

static void jr_stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    jr_host *h = jr_host_of(L);
    const char *what;
    switch (h->stop_reason) {
    case JR_STOP_NONE:
        lua_sethook(L, NULL, 0, 0);  // a leftover hook on a coroutine
        return;
    case JR_STOP_TIME:
        what = "time limit exceeded";
        break;
    case JR_STOP_MEMORY:
        if (h->memory_recovered) {
            // Lua's emergency collection made room and the script never saw an error.
            h->stop_reason = JR_STOP_NONE;
            h->memory_recovered = 0;
            lua_sethook(L, NULL, 0, 0);
            lua_sethook(h->main, NULL, 0, 0);
            return;
        }
        what = "memory limit exceeded";
        break;
    default:
        what = "interrupted";
        break;
    }
    // Level 0 inside a hook is the running function: the error is placed there.
    luaL_where(L, 0);
    lua_pushstring(L, what);
    lua_concat(L, 2);
    lua_error(L);
}

void jr_check_stop(lua_State *L) {
    jr_host *h = jr_host_of(L);
    int reason = h->stop_reason;
    if (reason == JR_STOP_NONE || (reason == JR_STOP_MEMORY && h->memory_recovered)) return;  // the hook lifts that one
    const char *what = reason == JR_STOP_TIME ? "time limit exceeded"
                       : reason == JR_STOP_MEMORY ? "memory limit exceeded"
                                                  : "interrupted";
    // Level 1: the Lua code that called the library function.
    luaL_where(L, 1);
    lua_pushstring(L, what);
    lua_concat(L, 2);
    lua_error(L);
}

void jr_request_stop(jr_host *h, int reason) {
    // A memory stop may still be lifted (see the allocator); no other one is.
    if (h->stop_reason == JR_STOP_NONE || (h->stop_reason == JR_STOP_MEMORY && reason != JR_STOP_MEMORY)) {
        h->stop_reason = reason;
    }
    // Every thread of the running chain stops at its next instruction; the
    // hook fires on each instruction, so a pcall in the script only delays it
    // by one instruction. (lua_sethook is safe here, as in lua.c's handler.)
    int count = h->active_count;
    if (count > JR_MAX_ACTIVE_THREADS) count = JR_MAX_ACTIVE_THREADS;
    lua_sethook(h->main, jr_stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    for (int i = 0; i < count; i++) {
        lua_sethook(h->active[i], jr_stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
}

void jr_clear_stop(jr_host *h) {
    h->stop_reason = JR_STOP_NONE;
    lua_sethook(h->main, NULL, 0, 0);
}

int64_t jr_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

// MARK: - Time limit
//
// A count hook would check the clock cheaply, but any hook makes Lua 5.4 call
// luaG_traceexec on every instruction (measured: loops run 2x slower). So no
// hook is set while a chunk runs; a one-shot timer sends a signal to the
// thread running Lua, and the handler installs the stopping hook once the
// deadline has passed. Deadlines move often (each call into Lua sets one)
// but the timer is only re-armed when it fires early.

static int jr_timer_signal(void) { return SIGRTMIN + 4; }

static void jr_set_timer(jr_host *h, int64_t at_ns) {
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    spec.it_value.tv_sec = (time_t)(at_ns / 1000000000);
    spec.it_value.tv_nsec = (long)(at_ns % 1000000000);
    h->timer_expiry_ns = at_ns;
    h->timer_armed = 1;
    timer_settime(h->timer, TIMER_ABSTIME, &spec, NULL);
}

static void jr_timer_handler(int sig, siginfo_t *info, void *uctx) {
    (void)sig;
    (void)uctx;
    if (info == NULL || info->si_code != SI_TIMER) return;
    jr_host *h = (jr_host *)info->si_value.sival_ptr;
    if (h == NULL) return;
    int saved_errno = errno;
    h->timer_armed = 0;
    int64_t deadline = h->deadline_ns;
    if (deadline != 0) {
        if (jr_monotonic_ns() >= deadline) {
            jr_request_stop(h, JR_STOP_TIME);
        } else {
            jr_set_timer(h, deadline);
        }
    }
    errno = saved_errno;
}

static pthread_once_t jr_signal_once = PTHREAD_ONCE_INIT;
static int jr_signal_error = 0;

static void jr_install_signal_handler(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = jr_timer_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(jr_timer_signal(), &sa, NULL) != 0) jr_signal_error = errno;
}

static int jr_create_timer(jr_host *h) {
    pthread_once(&jr_signal_once, jr_install_signal_handler);
    if (jr_signal_error != 0) return jr_signal_error;
    if (h->timer_created) {
        timer_delete(h->timer);
        h->timer_created = 0;
    }
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = jr_timer_signal();
    sev.sigev_value.sival_ptr = h;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    if (timer_create(CLOCK_MONOTONIC, &sev, &h->timer) != 0) return errno;
    h->timer_created = 1;
    h->timer_armed = 0;
    h->timer_thread = pthread_self();
    // Threads of thread pools (libdispatch's among them) start with signals
    // blocked; the timer's signal must reach this one.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, jr_timer_signal());
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    return 0;
}

int jr_arm_deadline(jr_host *h, int64_t deadline_ns) {
    if (!h->timer_created || !pthread_equal(h->timer_thread, pthread_self())) {
        h->deadline_ns = 0;
        int err = jr_create_timer(h);
        if (err != 0) return err;
    }
    h->deadline_ns = deadline_ns;
    // Re-arm only when no expiry is pending at or before the new deadline; a
    // pending later expiry (a shorter limit than before) is moved earlier.
    if (!h->timer_armed || h->timer_expiry_ns > deadline_ns) jr_set_timer(h, deadline_ns);
    return 0;
}

void jr_disarm_deadline(jr_host *h) {
    // The pending expiry, if any, finds no deadline and does nothing.
    h->deadline_ns = 0;
}

void jr_quiesce_timer(jr_host *h) {
    h->deadline_ns = 0;
    if (!h->timer_created || !h->timer_armed) return;
    struct itimerspec spec;
    memset(&spec, 0, sizeof spec);
    timer_settime(h->timer, 0, &spec, NULL);
    h->timer_armed = 0;
}

// MARK: - State

lua_State *jr_newstate(jr_host *h) {
    lua_State *L = lua_newstate(jr_alloc, h);
    if (L == NULL) return NULL;
    *(jr_host **)lua_getextraspace(L) = h;
    h->main = L;
    return L;
}

void jr_close(jr_host *h) {
    if (h->timer_created) {
        timer_delete(h->timer);
        h->timer_created = 0;
    }
    h->deadline_ns = 0;
    if (h->main != NULL) {
        lua_close(h->main);
        h->main = NULL;
    }
}

// MARK: - Protected calls

static int jr_message_handler(lua_State *L) {
    jr_host *h = jr_host_of(L);
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) {
            msg = lua_tostring(L, -1);
        } else {
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
        }
    }
    // The innermost Lua function on the stack is where the error happened.
    lua_Debug ar;
    for (int level = 1; lua_getstack(L, level, &ar); level++) {
        if (lua_getinfo(L, "Sl", &ar) && ar.currentline > 0) {
            strncpy(h->error_source, ar.short_src, sizeof h->error_source - 1);
            h->error_source[sizeof h->error_source - 1] = '\0';
            h->error_line = ar.currentline;
            break;
        }
    }
    luaL_traceback(L, L, NULL, 1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_TRACEBACK);
    h->has_traceback = 1;
    lua_pushstring(L, msg);
    return 1;
}

// MARK: - Field caches
//
// Why: a C `__index` call alone costs about as much as a Lua function call,
// so entering Swift for every `job.status` made a field read 15-20x a table
// read. An object read often in one epoch gets its own metatable whose
// `__index` is a cache table: a repeated read is then a plain table lookup
// that never leaves the VM. A miss falls through to the cache's metatable,
// whose `__index` asks the host and fills the cache.
//
// Cached values are good until the epoch ends (any host call, field write or
// protected call, see jr_dispatch and jr_pcall), which empties every cache
// listed under KEY_CACHES of its field values. Methods (the only functions in
// a cache: fields giving functions are not cached) never change and stay.
// Tables are never cached: a field that is a table gives a fresh copy a
// script may change. nil is not cached either.
// Objects read fewer than JR_CACHE_AFTER times in an epoch (a rule looking
// at each job once) never pay for a cache.
//
// Constant fields (JR_FIELD_CONSTANT in the field's index: values that never
// change for the object's life, like a member's id) stay in the cache across
// epochs, listed under the cache's KEY_CONSTANTS. An object read
// JR_KEEP_AFTER times over its life gets a cache for them even when no epoch
// reads it often: objects the host keeps and hands out again (the team's
// members, read for every job a rule assigns) then answer them in the VM.
// A reloaded store drops them all (jr_forget_constants).

#define JR_CACHE_AFTER 4
#define JR_KEEP_AFTER 8

static void jr_end_epoch(lua_State *L, jr_host *h) {
    h->epoch++;
    if (h->caches_listed == 0) return;
    // Five slots: after a call that returned many results the stack may be
    // full. It only fails at Lua's own stack limit, which a call's results
    // can't reach without raising first.
    if (!lua_checkstack(L, 5)) return;
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHES);
    int list = lua_gettop(L);
    for (int i = 1; i <= h->caches_listed; i++) {
        lua_rawgeti(L, list, i);
        int cache = lua_gettop(L);
        int constants = 0;
        if (lua_rawgetp(L, cache, &KEY_CONSTANTS) == LUA_TTABLE) {
            constants = lua_gettop(L);
        } else {
            lua_pop(L, 1);
        }
        lua_pushnil(L);
        while (lua_next(L, cache) != 0) {  // clearing fields while traversing is allowed
            int keep = lua_type(L, -1) == LUA_TFUNCTION;  // a method
            lua_pop(L, 1);
            if (keep || lua_type(L, -1) == LUA_TLIGHTUSERDATA) continue;  // KEY_SELF, KEY_CONSTANTS
            if (constants != 0) {
                lua_pushvalue(L, -1);
                keep = lua_rawget(L, constants) != LUA_TNIL;
                lua_pop(L, 1);
                if (keep) continue;
            }
            lua_pushvalue(L, -1);
            lua_pushnil(L);
            lua_rawset(L, cache);
        }
        lua_rawgetp(L, cache, &KEY_SELF);
        jr_object_header *header = (jr_object_header *)lua_touserdata(L, -1);
        if (header != NULL) header->cached = 0;
        lua_settop(L, list);
        lua_pushnil(L);
        lua_rawseti(L, list, i);
    }
    h->caches_listed = 0;
    lua_pop(L, 1);
}

// Pushes the cache of the object at 1 (of the type whose metamethod runs),
// giving it one first. May raise a memory error: no Swift frame is running,
// and each step leaves the object whole.
static void jr_push_cache(lua_State *L) {
    if (lua_getiuservalue(L, 1, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 4);  // the cache
        int cache = lua_gettop(L);
        lua_pushvalue(L, 1);
        lua_rawsetp(L, cache, &KEY_SELF);
        lua_pushvalue(L, lua_upvalueindex(5));  // the type's metatable for caches
        lua_setmetatable(L, cache);
        lua_createtable(L, 0, 8);  // the object's own metatable: the type's, __index apart
        int mt = lua_gettop(L);
        lua_getmetatable(L, 1);
        lua_pushnil(L);
        while (lua_next(L, -2) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, mt);
        }
        lua_pop(L, 1);
        lua_pushvalue(L, cache);
        lua_setfield(L, mt, "__index");
        lua_setmetatable(L, 1);
        lua_pushvalue(L, cache);
        lua_setiuservalue(L, 1, 1);
        ((jr_object_header *)lua_touserdata(L, 1))->promoted = 1;
    }
}

// Gives the object at 1 a cache if it has none, lists it (a cache is listed
// before it is filled) and pushes it.
static void jr_list_cache(lua_State *L, jr_host *h, jr_object_header *header) {
    jr_push_cache(L);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CACHES) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 64, 0);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CACHES);
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, h->caches_listed + 1);
    lua_pop(L, 1);
    h->caches_listed++;
    header->cached = 1;
}

int jr_pcall(lua_State *L, int nargs, int nresults) {
    jr_host *h = jr_host_of(L);
    int base = lua_gettop(L) - nargs;  // the function's index
    if (!lua_checkstack(L, 2)) return LUA_ERRMEM;
    lua_pushcfunction(L, jr_message_handler);
    lua_insert(L, base);
    h->error_source[0] = '\0';
    h->error_line = 0;
    h->has_traceback = 0;
    // Lua code called from a host function is limited again.
    int saved_in_host = h->in_host;
    h->in_host = 0;
    jr_end_epoch(L, h);  // the host may have changed anything since the last call
    int status = lua_pcall(L, nargs, nresults, base);
    jr_end_epoch(L, h);  // and may roll back what it did
    h->in_host = saved_in_host;
    lua_remove(L, base);
    return status;
}

void jr_push_traceback(lua_State *L) {
    if (jr_host_of(L)->has_traceback) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_TRACEBACK);
    } else {
        lua_pushnil(L);
    }
}

int jr_load(lua_State *L, const char *bytes, size_t length, const char *chunkname) {
    jr_host *h = jr_host_of(L);
    h->error_source[0] = '\0';
    h->error_line = 0;
    h->has_traceback = 0;
    return luaL_loadbufferx(L, bytes, length, chunkname, "t");
}

// MARK: - Trampolines

// Called with the Swift frame gone: raises what the host function asked for.
// `nargs` is the stack top at entry: argument errors look at the arguments
// as they were, not at what the function pushed before it failed.
static int jr_finish(lua_State *L, jr_host *h, int n, int nargs) {
    if (n >= 0) {
        if (h->in_host == 0 && h->limit != 0 && h->used + h->held_now > h->limit) {
            jr_request_stop(h, JR_STOP_MEMORY);
            return luaL_error(L, "memory limit exceeded");
        }
        return n;
    }
    switch (n) {
    case JR_RAISE_ARGUMENT:
    case JR_RAISE_TYPE: {
        char text[256];
        const char *given = lua_tostring(L, -1);
        strncpy(text, given != NULL ? given : "?", sizeof text - 1);
        text[sizeof text - 1] = '\0';
        lua_settop(L, nargs);
        if (n == JR_RAISE_TYPE) return luaL_typeerror(L, h->error_argument, text);
        return luaL_argerror(L, h->error_argument, text);
    }
    case JR_RAISE_MESSAGE:
        if (lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    default:
        return lua_error(L);
    }
}

static int jr_dispatch(lua_State *L, void *target, int op, lua_Integer field) {
    jr_host *h = jr_host_of(L);
    int nargs = lua_gettop(L);
    // A call or a write may change what any field reads: cached values are
    // dropped before it (it may read fields itself) and after it.
    int changes = op == JR_OP_CALL || op == JR_OP_SET;
    if (changes) jr_end_epoch(L, h);
    h->in_host++;
    int n = h->dispatch(L, target, op, field);
    h->in_host--;
    if (changes) {
        jr_end_epoch(L, h);
        h->held_now = jr_held(h);  // only calls and writes change what the host holds
    }
    return jr_finish(L, h, n, nargs);
}

static int jr_function_trampoline(lua_State *L) {
    return jr_dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_CALL, 0);
}

void jr_pushhostfunction(lua_State *L, void *target) {
    lua_pushlightuserdata(L, target);
    lua_pushcclosure(L, jr_function_trampoline, 1);
}

// MARK: - Host objects
//
// Upvalues of the metamethods: 1 = the Swift type (light userdata),
// 2 = methods (name -> function; for __index: members, name -> method function
// or field index), 3 = fields (name -> index), 4 = type name, 5 = the
// metatable of the type's field caches.

static jr_object_header *jr_header(lua_State *L, int idx) {
    if (lua_type(L, idx) != LUA_TUSERDATA) return NULL;
    if (lua_rawlen(L, idx) < jr_object_payload_offset()) return NULL;
    return (jr_object_header *)lua_touserdata(L, idx);
}

void *jr_newobject(lua_State *L, uint32_t type_id, size_t payload_size) {
    size_t offset = jr_object_payload_offset();
    jr_object_header *header = (jr_object_header *)lua_newuserdatauv(L, offset + payload_size, 1);
    header->type_id = type_id;
    header->alive = 1;
    header->cached = 0;
    header->promoted = 0;
    header->reads = 0;
    header->epoch = 0;
    header->lifetime_reads = 0;
    return (char *)header + offset;
}

void *jr_toobject(lua_State *L, int idx, uint32_t type_id) {
    jr_object_header *header = jr_header(L, idx);
    if (header == NULL || header->type_id != type_id || !header->alive) return NULL;
    return (char *)header + jr_object_payload_offset();
}

void *jr_object_self(lua_State *L) {
    jr_object_header *header = (jr_object_header *)lua_touserdata(L, 1);
    if (header == NULL || !header->alive) return NULL;
    return (char *)header + jr_object_payload_offset();
}

void jr_push_table_copy(lua_State *L, int idx, int depth) {
    idx = lua_absindex(L, idx);
    lua_createtable(L, (int)lua_rawlen(L, idx), 4);
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
        if (depth > 1 && lua_type(L, -1) == LUA_TTABLE) {
            jr_push_table_copy(L, -1, depth - 1);
            lua_replace(L, -2);
        }
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
}

uint32_t jr_objecttype(lua_State *L, int idx) {
    jr_object_header *header = jr_header(L, idx);
    return (header != NULL && header->alive) ? header->type_id : 0;
}

// Notes the key at 2 as a constant field of the cache at `cache` (see above).
static void jr_mark_constant(lua_State *L, int cache) {
    if (lua_rawgetp(L, cache, &KEY_CONSTANTS) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_createtable(L, 0, 4);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, cache, &KEY_CONSTANTS);
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CONSTANT_CACHES) != LUA_TTABLE) {
            lua_pop(L, 1);
            lua_createtable(L, 0, 8);
            lua_createtable(L, 0, 1);
            lua_pushliteral(L, "k");
            lua_setfield(L, -2, "__mode");
            lua_setmetatable(L, -2);
            lua_pushvalue(L, -1);
            lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CONSTANT_CACHES);
        }
        lua_pushvalue(L, cache);
        lua_pushboolean(L, 1);
        lua_rawset(L, -3);
        lua_pop(L, 1);
    }
    lua_pushvalue(L, 2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void jr_forget_constants(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_CONSTANT_CACHES) != LUA_TTABLE) {
        lua_pop(L, 1);
        return;
    }
    int list = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, list) != 0) {
        lua_pop(L, 1);  // the key (a cache) stays for lua_next
        int cache = lua_gettop(L);
        if (lua_rawgetp(L, cache, &KEY_CONSTANTS) == LUA_TTABLE) {
            int constants = lua_gettop(L);
            lua_pushnil(L);
            while (lua_next(L, constants) != 0) {
                lua_pop(L, 1);
                lua_pushvalue(L, -1);
                lua_pushnil(L);
                lua_rawset(L, cache);
            }
        }
        lua_settop(L, cache);
        lua_pushnil(L);
        lua_rawsetp(L, cache, &KEY_CONSTANTS);
    }
    lua_pop(L, 1);
    // Emptied, the list itself goes: caches get on it again when they hold constants.
    lua_pushnil(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_CONSTANT_CACHES);
}

// Reads field `field` of the object at 1 (the key at 2) through the host;
// counts the reads of an epoch and fills the object's cache (see above).
static int jr_object_get(lua_State *L, lua_Integer field) {
    jr_host *h = jr_host_of(L);
    jr_object_header *header = (jr_object_header *)lua_touserdata(L, 1);
    int constant = (field & JR_FIELD_CONSTANT) != 0;
    field &= JR_FIELD_INDEX;
    int cache = 0;
    lua_settop(L, 2);
    if (header->alive) {
        if (header->lifetime_reads < UINT32_MAX) header->lifetime_reads++;
        if (header->cached) {
            lua_getiuservalue(L, 1, 1);
            cache = 3;
        } else {
            if (header->epoch != (uint32_t)h->epoch) {
                header->epoch = (uint32_t)h->epoch;
                header->reads = 0;
            }
            if (++header->reads >= JR_CACHE_AFTER) {  // at most once an epoch: then it is listed
                jr_list_cache(L, h, header);
                cache = 3;
            } else if (constant && header->lifetime_reads >= JR_KEEP_AFTER) {
                jr_push_cache(L);  // kept across epochs: not listed
                cache = 3;
            }
        }
    }
    int nargs = lua_gettop(L);
    h->in_host++;
    int n = h->dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_GET, field);
    h->in_host--;
    int type = lua_type(L, -1);
    if (n == 1 && cache != 0 && type != LUA_TNIL && type != LUA_TTABLE && type != LUA_TFUNCTION) {
        if (constant) jr_mark_constant(L, cache);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, -2);
        lua_rawset(L, cache);
    }
    return jr_finish(L, h, n, nargs);
}

static int jr_object_index(lua_State *L) {
    // One lookup in the type's members: a method (a function) or a field (its index).
    lua_pushvalue(L, 2);
    switch (lua_rawget(L, lua_upvalueindex(2))) {
    case LUA_TFUNCTION: {
        jr_object_header *header = (jr_object_header *)lua_touserdata(L, 1);
        if (header->promoted) {  // methods never change; the next lookup stays in the VM
            lua_getiuservalue(L, 1, 1);
            lua_pushvalue(L, 2);
            lua_pushvalue(L, -3);
            lua_rawset(L, -3);
            lua_pop(L, 1);
        }
        return 1;
    }
    case LUA_TNUMBER:
        return jr_object_get(L, lua_tointeger(L, -1));
    default:
        break;
    }
    if (lua_type(L, 2) == LUA_TSTRING) {
        return luaL_error(L, "%s has no field or method '%s'", lua_tostring(L, lua_upvalueindex(4)),
                          lua_tostring(L, 2));
    }
    return luaL_error(L, "%s has no field %s", lua_tostring(L, lua_upvalueindex(4)), luaL_tolstring(L, 2, NULL));
}

// `__index` of a field cache: a miss, looked up as on the object itself.
static int jr_cache_miss(lua_State *L) {
    lua_settop(L, 2);
    lua_rawgetp(L, 1, &KEY_SELF);
    lua_replace(L, 1);
    return jr_object_index(L);
}

static int jr_object_newindex(lua_State *L) {
    lua_settop(L, 3);
    lua_pushvalue(L, 2);
    lua_Integer field = -1;
    if (lua_rawget(L, lua_upvalueindex(3)) == LUA_TNUMBER) field = lua_tointeger(L, -1) & JR_FIELD_INDEX;
    lua_pop(L, 1);
    return jr_dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_SET, field);
}

static int jr_object_tostring(lua_State *L) {
    return jr_dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_TOSTRING, 0);
}

static int jr_object_eq(lua_State *L) {
    jr_object_header *a = jr_header(L, 1), *b = jr_header(L, 2);
    if (a == NULL || b == NULL || a->type_id != b->type_id || !a->alive || !b->alive) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return jr_dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_EQ, 0);
}

static int jr_object_gc(lua_State *L) {
    jr_object_header *header = jr_header(L, 1);
    if (header == NULL || !header->alive) return 0;
    // Marked dead first: a resurrected object never reaches a deinitialized payload.
    header->alive = 0;
    return jr_dispatch(L, lua_touserdata(L, lua_upvalueindex(1)), JR_OP_GC, 0);
}

// Expects methods at -3, fields at -2 and the caches' metatable at -1.
static void jr_setmetamethod(lua_State *L, int mt, const char *name, lua_CFunction fn, void *target) {
    lua_pushlightuserdata(L, target);
    lua_pushvalue(L, -4);  // methods
    lua_pushvalue(L, -4);  // fields
    lua_getfield(L, mt, "__name");
    lua_pushvalue(L, -5);  // the caches' metatable
    lua_pushcclosure(L, fn, 5);
    lua_setfield(L, mt, name);
}

void jr_newobjecttype(lua_State *L, void *target, const char *name, int collectable) {
    // stack: methods, fields
    lua_createtable(L, 0, 8);
    int mt = lua_gettop(L);
    lua_pushstring(L, name);
    lua_setfield(L, mt, "__name");
    lua_pushstring(L, name);  // what getmetatable() shows instead of the metatable
    lua_setfield(L, mt, "__metatable");
    lua_insert(L, mt - 2);  // mt, methods, fields
    mt -= 2;
    // __index looks names up once in a table of both: fields (their index),
    // then methods (functions; a method wins over a field of the same name).
    lua_createtable(L, 0, 16);
    for (int source = mt + 2; source >= mt + 1; source--) {
        lua_pushnil(L);
        while (lua_next(L, source) != 0) {
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        }
    }
    lua_pushvalue(L, mt + 2);  // fields (upvalue 3, unused by __index)
    lua_createtable(L, 0, 2);  // the metatable of field caches: a miss asks the object
    lua_pushstring(L, name);
    lua_setfield(L, -2, "__metatable");
    jr_setmetamethod(L, mt, "__index", jr_object_index, target);
    lua_getfield(L, mt, "__index");
    for (int i = 1; i <= 5; i++) lua_getupvalue(L, -1 - (i - 1), i);  // the same upvalues
    lua_pushcclosure(L, jr_cache_miss, 5);
    lua_setfield(L, -3, "__index");
    lua_pop(L, 1);
    // stack: mt, methods, fields, members, fields, caches' metatable
    lua_replace(L, mt + 3);
    lua_pop(L, 1);
    // stack: mt, methods, fields, caches' metatable
    jr_setmetamethod(L, mt, "__newindex", jr_object_newindex, target);
    jr_setmetamethod(L, mt, "__tostring", jr_object_tostring, target);
    jr_setmetamethod(L, mt, "__eq", jr_object_eq, target);
    if (collectable) jr_setmetamethod(L, mt, "__gc", jr_object_gc, target);
    lua_pop(L, 3);
}

// MARK: - Sandbox

static int jr_print(lua_State *L) {
    jr_host *h = jr_host_of(L);
    int n = lua_gettop(L);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = 1; i <= n; i++) {
        if (i > 1) luaL_addchar(&b, '\t');
        luaL_tolstring(L, i, NULL);  // runs __tostring: this C frame may raise
        luaL_addvalue(&b);          // right after: the buffer may sit on the stack too
    }
    luaL_addchar(&b, '\n');
    luaL_pushresult(&b);
    size_t len;
    const char *s = lua_tolstring(L, -1, &len);
    if (h->output != NULL) h->output(h->output_context, s, len);
    return 0;
}

static int jr_safe_collectgarbage(lua_State *L) {
    const char *option = luaL_optstring(L, 1, "collect");
    if (strcmp(option, "count") != 0) {
        return luaL_error(L, "collectgarbage('%s') is not allowed in rules and scripts (only 'count')", option);
    }
    int kb = lua_gc(L, LUA_GCCOUNT);
    int bytes = lua_gc(L, LUA_GCCOUNTB);
    lua_pushnumber(L, (lua_Number)kb + ((lua_Number)bytes / 1024));
    return 1;
}

static int jr_is_protected(lua_State *L, int idx) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_PROTECTED);
    lua_pushvalue(L, idx);
    int found = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 2);
    return found;
}

static int jr_safe_rawset(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    luaL_checkany(L, 2);
    luaL_checkany(L, 3);
    if (jr_is_protected(L, 1)) return luaL_error(L, "rawset on a read-only table");
    lua_pushglobaltable(L);
    int is_globals = lua_rawequal(L, 1, -1);
    lua_pop(L, 1);
    if (is_globals) {
        lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
        lua_pushvalue(L, 2);
        int taken = lua_rawget(L, -2) != LUA_TNIL;
        lua_pop(L, 2);
        if (taken) return luaL_error(L, "cannot assign to '%s': it is a read-only global", luaL_tolstring(L, 2, NULL));
    }
    lua_settop(L, 3);
    lua_rawset(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int jr_globals_newindex(lua_State *L) {
    // upvalue 1: host globals
    lua_settop(L, 3);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, lua_upvalueindex(1)) != LUA_TNIL) {
        return luaL_error(L, "cannot assign to '%s': it is a read-only global", luaL_tolstring(L, 2, NULL));
    }
    lua_pop(L, 1);
    lua_rawset(L, 1);
    return 0;
}

static int jr_readonly_newindex(lua_State *L) {
    return luaL_error(L, "attempt to modify read-only table '%s'", lua_tostring(L, lua_upvalueindex(1)));
}

// `next` over the table behind a read-only proxy (upvalue 1). The table
// itself is never handed out: pairs' state is the proxy.
static int jr_readonly_next(lua_State *L) {
    lua_settop(L, 2);
    if (lua_next(L, lua_upvalueindex(1))) return 2;
    lua_pushnil(L);
    return 1;
}

// __pairs of a proxy: its `next` (upvalue 1), the proxy, nil.
static int jr_readonly_pairs(lua_State *L) {
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int jr_readonly_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)lua_rawlen(L, lua_upvalueindex(1)));
    return 1;
}

void jr_readonly(lua_State *L, const char *name) {
    int t = lua_gettop(L);
    lua_createtable(L, 0, 0);                 // proxy
    lua_createtable(L, 0, 5);                 // its metatable
    lua_pushvalue(L, t);
    lua_setfield(L, -2, "__index");
    lua_pushstring(L, name);
    lua_pushcclosure(L, jr_readonly_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushvalue(L, t);
    lua_pushcclosure(L, jr_readonly_next, 1);
    lua_pushcclosure(L, jr_readonly_pairs, 1);
    lua_setfield(L, -2, "__pairs");
    lua_pushvalue(L, t);
    lua_pushcclosure(L, jr_readonly_len, 1);
    lua_setfield(L, -2, "__len");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    // Remember both the proxy and the table behind it as read-only for rawset.
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_PROTECTED);
    lua_pushvalue(L, -2);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pushvalue(L, t);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
    lua_replace(L, t);
}

void jr_sethostglobal(lua_State *L, const char *name) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    lua_insert(L, -2);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

int jr_gethostglobal(lua_State *L, const char *name) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    int type = lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return type;
}

// MARK: - Helpers for host functions

static int jr_list_next(lua_State *L) {
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)) + 1;
    if (lua_rawgeti(L, lua_upvalueindex(1), i) == LUA_TNIL) return 1;
    lua_pushinteger(L, i);
    lua_replace(L, lua_upvalueindex(2));
    return 1;
}

void jr_pushlistiterator(lua_State *L) {
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, jr_list_next, 2);
}

int jr_where(lua_State *L, int level, char *source, size_t capacity, int *line) {
    lua_Debug ar;
    if (capacity == 0 || !lua_getstack(L, level, &ar) || !lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0) return 0;
    strncpy(source, ar.short_src, capacity - 1);
    source[capacity - 1] = '\0';
    *line = ar.currentline;
    return 1;
}

// Tracks the running chain of coroutines so that a stop reaches them all.
static int jr_push_active(lua_State *L, lua_State *co) {
    jr_host *h = jr_host_of(L);
    if (h->active_count >= JR_MAX_ACTIVE_THREADS) return luaL_error(L, "too many nested coroutines");
    h->active[h->active_count] = co;
    h->active_count = h->active_count + 1;
    if (h->stop_reason != JR_STOP_NONE) {
        lua_sethook(co, jr_stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    }
    return 0;
}

static void jr_pop_active(lua_State *L) {
    jr_host *h = jr_host_of(L);
    if (h->active_count > 0) h->active_count = h->active_count - 1;
}

// coroutine.resume and coroutine.wrap, as lcorolib.c has them, plus tracking.
static int jr_auxresume(lua_State *L, lua_State *co, int narg) {
    int status, nres;
    if (!lua_checkstack(co, narg)) {
        lua_pushliteral(L, "too many arguments to resume");
        return -1;
    }
    lua_xmove(L, co, narg);
    jr_push_active(L, co);
    status = lua_resume(co, L, narg, &nres);
    jr_pop_active(L);
    if (status == LUA_OK || status == LUA_YIELD) {
        if (!lua_checkstack(L, nres + 1)) {
            lua_pop(co, nres);
            lua_pushliteral(L, "too many results to resume");
            return -1;
        }
        lua_xmove(co, L, nres);
        return nres;
    }
    lua_xmove(co, L, 1);  // the error object
    return -1;
}

static int jr_coroutine_resume(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    int r = jr_auxresume(L, co, lua_gettop(L) - 1);
    if (r < 0) {
        lua_pushboolean(L, 0);
        lua_insert(L, -2);
        return 2;
    }
    lua_pushboolean(L, 1);
    lua_insert(L, -(r + 1));
    return r + 1;
}

// Closes `co` (lua_resetthread), which runs its pending `__close` handlers
// on `co` itself: it is on the running chain meanwhile, so that a stop
// reaches them.
static int jr_reset_thread(lua_State *L, lua_State *co) {
    jr_push_active(L, co);
    int status = lua_resetthread(co);
    jr_pop_active(L);
    return status;
}

static int jr_auxwrap(lua_State *L) {
    lua_State *co = lua_tothread(L, lua_upvalueindex(1));
    int r = jr_auxresume(L, co, lua_gettop(L));
    if (r < 0) {
        int stat = lua_status(co);
        if (stat != LUA_OK && stat != LUA_YIELD) {
            stat = jr_reset_thread(L, co);
            lua_xmove(co, L, 1);
        }
        if (stat != LUA_ERRMEM && lua_type(L, -1) == LUA_TSTRING) {
            luaL_where(L, 1);
            lua_insert(L, -2);
            lua_concat(L, 2);
        }
        return lua_error(L);
    }
    return r;
}

// coroutine.close as lcorolib.c has it, closing through jr_reset_thread.
static int jr_coroutine_close(lua_State *L) {
    lua_State *co = lua_tothread(L, 1);
    luaL_argexpected(L, co, 1, "coroutine");
    const char *state;
    if (co == L) {
        state = "running";
    } else if (lua_status(co) == LUA_OK) {
        lua_Debug ar;
        state = lua_getstack(co, 0, &ar) ? "normal" : NULL;  // frames: it resumed another one
    } else {
        state = NULL;  // suspended, or dead after an error
    }
    if (state != NULL) return luaL_error(L, "cannot close a %s coroutine", state);
    if (jr_reset_thread(L, co) == LUA_OK) {
        lua_pushboolean(L, 1);
        return 1;
    }
    lua_pushboolean(L, 0);
    lua_xmove(co, L, 1);
    return 2;
}

static int jr_coroutine_wrap(lua_State *L) {
    luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_State *NL = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, NL, 1);
    lua_pushcclosure(L, jr_auxwrap, 1);
    return 1;
}

static void jr_copy_fields(lua_State *L, int from, const char *const *names) {
    for (; *names != NULL; names++) {
        lua_getfield(L, from, *names);
        lua_setfield(L, -2, *names);
    }
}

/// A library function replaced by the sandbox's own (library.c, pattern.c).
typedef struct jr_replacement {
    const char *name;
    lua_CFunction function;
} jr_replacement;

static void jr_install_library(lua_State *L, const char *name, lua_CFunction open, const char *const *keep,
                               const jr_replacement *replace) {
    luaL_requiref(L, name, open, 0);  // leaves the module on top
    if (keep != NULL) {
        int lib = lua_gettop(L);
        lua_newtable(L);
        jr_copy_fields(L, lib, keep);
        lua_remove(L, lib);
    }
    for (; replace != NULL && replace->name != NULL; replace++) {
        lua_pushcfunction(L, replace->function);
        lua_setfield(L, -2, replace->name);
    }
    jr_readonly(L, name);
    jr_sethostglobal(L, name);
}

static int jr_build_sandbox(lua_State *L) {
    // Registry tables: host globals, protected tables (weak keys).
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY_PROTECTED);

    // The base library writes into the globals table; move what is kept.
    luaL_requiref(L, "_G", luaopen_base, 0);
    int base = lua_gettop(L);
    static const char *const base_kept[] = {
        "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
        "select", "tonumber", "tostring", "type", "xpcall", "_VERSION", NULL};
    for (const char *const *name = base_kept; *name != NULL; name++) {
        lua_getfield(L, base, *name);
        jr_sethostglobal(L, *name);
    }
    lua_pushcfunction(L, jr_safe_load);
    jr_sethostglobal(L, "load");
    lua_pushcfunction(L, jr_safe_setmetatable);
    jr_sethostglobal(L, "setmetatable");
    lua_getfield(L, base, "rawset");
    lua_pushcclosure(L, jr_safe_rawset, 1);
    jr_sethostglobal(L, "rawset");
    lua_pushcfunction(L, jr_safe_collectgarbage);
    jr_sethostglobal(L, "collectgarbage");
    lua_pushcfunction(L, jr_print);
    jr_sethostglobal(L, "print");
    lua_pushvalue(L, base);
    jr_sethostglobal(L, "_G");
    // Empty the real globals table: scripts' own globals go there.
    lua_pushnil(L);
    while (lua_next(L, base) != 0) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, base);
    }
    lua_pop(L, 1);  // base
    lua_pushnil(L);
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);

    static const char *const string_kept[] = {"byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
                                              "match", "rep", "reverse", "sub", "upper", "pack", "packsize",
                                              "unpack", NULL};
    static const char *const os_kept[] = {"time", "clock", "date", "difftime", NULL};
    // Lua's own loop in C for as long as a script likes: replaced (see library.c, pattern.c).
    static const jr_replacement string_replaced[] = {
        {"find", jr_str_find}, {"match", jr_str_match}, {"gmatch", jr_str_gmatch},
        {"gsub", jr_str_gsub}, {"rep", jr_str_rep},     {NULL, NULL}};
    static const jr_replacement table_replaced[] = {
        {"insert", jr_tab_insert}, {"remove", jr_tab_remove}, {"move", jr_tab_move}, {"sort", jr_tab_sort}, {NULL, NULL}};
    jr_install_library(L, LUA_STRLIBNAME, luaopen_string, string_kept, string_replaced);
    jr_install_library(L, LUA_TABLIBNAME, luaopen_table, NULL, table_replaced);
    jr_install_library(L, LUA_MATHLIBNAME, luaopen_math, NULL, NULL);
    jr_install_library(L, LUA_UTF8LIBNAME, luaopen_utf8, NULL, NULL);
    jr_install_library(L, LUA_OSLIBNAME, luaopen_os, os_kept, NULL);

    // coroutine: the library with resume and wrap replaced by tracking twins.
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 0);
    lua_pushcfunction(L, jr_coroutine_resume);
    lua_setfield(L, -2, "resume");
    lua_pushcfunction(L, jr_coroutine_wrap);
    lua_setfield(L, -2, "wrap");
    lua_pushcfunction(L, jr_coroutine_close);
    lua_setfield(L, -2, "close");
    jr_readonly(L, LUA_COLIBNAME);
    jr_sethostglobal(L, LUA_COLIBNAME);

    // Strings' methods: without dump, and the metatable itself locked.
    lua_pushliteral(L, "");
    lua_getmetatable(L, -1);
    jr_gethostglobal(L, LUA_STRLIBNAME);  // the proxy; its metatable's __index is the kept table
    lua_getmetatable(L, -1);
    lua_getfield(L, -1, "__index");
    lua_setfield(L, -4, "__index");
    lua_pop(L, 2);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    // The globals table: reads fall through to the host globals, which
    // scripts cannot overwrite.
    lua_pushglobaltable(L);
    lua_createtable(L, 0, 3);
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    lua_setfield(L, -2, "__index");
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    lua_pushcclosure(L, jr_globals_newindex, 1);
    lua_setfield(L, -2, "__newindex");
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
    // Where luaL_argerror looks for a function's name when its call site
    // gives none (`pcall(string.rep)`): the tables behind the libraries, so
    // that messages say 'string.rep' as Lua's do. Only C reads the registry.
    static const char *const libraries[] = {LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_MATHLIBNAME, LUA_UTF8LIBNAME,
                                            LUA_OSLIBNAME,  LUA_COLIBNAME,  NULL};
    lua_createtable(L, 0, 8);
    for (const char *const *name = libraries; *name != NULL; name++) {
        jr_gethostglobal(L, *name);
        lua_getmetatable(L, -1);
        lua_getfield(L, -1, "__index");
        lua_setfield(L, -4, *name);
        lua_pop(L, 2);
    }
    lua_rawgetp(L, LUA_REGISTRYINDEX, &KEY_HOST_GLOBALS);
    lua_setfield(L, -2, "_G");
    lua_setfield(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
    return 0;
}

int jr_open_sandbox(lua_State *L) {
    lua_pushcfunction(L, jr_build_sandbox);
    return jr_pcall(L, 0, 0);
}

// MARK: - Ctrl-C
//
// The handler only does async-signal-safe things: it asks the target VM to
// stop (a flag and lua_sethook, as lua.c's own handler does) and writes to a
// self-pipe that the line editor polls next to the terminal.

static jr_host *volatile jr_interrupt_host = NULL;
static int jr_interrupt_pipe[2] = {-1, -1};
static pthread_once_t jr_interrupt_once = PTHREAD_ONCE_INIT;
static int jr_interrupt_error = 0;

static void jr_interrupt_handler(int sig) {
    (void)sig;
    int saved_errno = errno;
    jr_host *h = jr_interrupt_host;
    if (h != NULL) jr_request_stop(h, JR_STOP_INTERRUPT);
    if (jr_interrupt_pipe[1] >= 0) {
        ssize_t n = write(jr_interrupt_pipe[1], "!", 1);
        (void)n;  // a full pipe already says "interrupted"
    }
    errno = saved_errno;
}

static void jr_interrupts_setup(void) {
    if (pipe2(jr_interrupt_pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        jr_interrupt_error = errno;
        return;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = jr_interrupt_handler;
    sa.sa_flags = 0;  // no SA_RESTART: a blocking poll returns EINTR
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0) jr_interrupt_error = errno;
    // A parent may have left SIGINT blocked; the thread that asks for Ctrl-C wants it.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

int jr_interrupts_install(void) {
    pthread_once(&jr_interrupt_once, jr_interrupts_setup);
    return jr_interrupt_error;
}

void jr_interrupts_target(jr_host *host) { jr_interrupt_host = host; }

int jr_interrupts_fd(void) { return jr_interrupt_pipe[0]; }

int jr_interrupts_take(void) {
    if (jr_interrupt_pipe[0] < 0) return 0;
    char buffer[64];
    int seen = 0;
    for (;;) {
        ssize_t n = read(jr_interrupt_pipe[0], buffer, sizeof buffer);
        if (n > 0) {
            seen = 1;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return seen;
    }
}
