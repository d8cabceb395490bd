// What the C files of the shim share and Swift doesn't see.
#ifndef JOBRULES_CLUASHIM_INTERNAL_H
#define JOBRULES_CLUASHIM_INTERNAL_H

#include "CLuaShim.h"

/// Raises the pending stop (time limit, memory limit, Ctrl-C) as the stopping
/// hook would, when there is one; returns otherwise. For C loops of the
/// library that can run long without ever reaching a hook.
void jr_check_stop(lua_State *L);

/// How many iterations a library loop runs between two `jr_check_stop`s:
/// a check is one volatile read, but there is no need to make it every time.
#define JR_STOP_CHECK_EVERY 4096

// The library functions the sandbox puts in place of the standard ones
// (library.c, pattern.c): same behaviour, but stoppable.
int jr_str_find(lua_State *L);
int jr_str_match(lua_State *L);
int jr_str_gmatch(lua_State *L);
int jr_str_gsub(lua_State *L);
int jr_str_rep(lua_State *L);
int jr_tab_insert(lua_State *L);
int jr_tab_remove(lua_State *L);
int jr_tab_move(lua_State *L);
int jr_tab_sort(lua_State *L);
int jr_safe_load(lua_State *L);
int jr_safe_setmetatable(lua_State *L);

#endif
