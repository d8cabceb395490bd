-- jobs.where{status = "new"} per job, next to plain Lua filtering an array of
-- tables with the same fields; run by scripts/bench through `jobrules exec`.
-- Prints: jobs, host ns per job, plain Lua ns per job (best of 5 rounds).
local clock = os.clock
local all = jobs.where()
local plain = {}
for i, job in ipairs(all) do plain[i] = { id = job.id, status = job.status, service = job.service } end
local function best(body)
  local b = math.huge
  for _ = 1, 5 do local t0 = clock(); body(); b = math.min(b, clock() - t0) end
  return b
end
local host = best(function() return jobs.where { status = "new" } end)
local lua = best(function()
  local out = {}
  for _, job in ipairs(plain) do if job.status == "new" then out[#out + 1] = job end end
  return out
end)
print(("%d %.1f %.1f"):format(#all, host / #all * 1e9, lua / #all * 1e9))
