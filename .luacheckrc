-- luacheck configuration for jobrules rules and scripts: `luacheck rules scripts`.
-- The globals are the sandbox's (no io, require, debug; os without execute)
-- and the jobrules API (docs/lua-api.md).
stds.jobrules_sandbox = {
  read_globals = {
    "assert", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "rawequal", "rawget", "rawlen",
    "rawset", "select", "setmetatable", "tonumber", "tostring", "type", "xpcall", "_VERSION", "load",
    "collectgarbage", "print", "_G",
    string = { other_fields = true },
    table = { other_fields = true },
    math = { other_fields = true },
    utf8 = { other_fields = true },
    coroutine = { other_fields = true },
    os = { fields = { "time", "clock", "date", "difftime" } },
  },
}
stds.jobrules = {
  read_globals = {
    jobs = { fields = { "get", "where", "each", "count", "search" } },
    orders = { fields = { "get", "where", "each", "count" } },
    members = { fields = { "get", "all", "for_service" } },
    merchants = { fields = { "get", "all" } },
    contacts = { fields = { "all" } },
    outbox = { fields = { "all" } },
    agency = { fields = { "name", "services", "preferences", "offers", "set_preference" } },
    time = { fields = { "iso", "parse" } },
    "notify", "rule", "now", "hours", "days",
  },
}
std = "jobrules_sandbox+jobrules"
max_line_length = 120
exclude_files = { "types/*.lua", ".build*/**", ".demo/**" }

-- `exec` scripts get their arguments in `arg`.
files["scripts/*.lua"] = { read_globals = { "arg" } }
