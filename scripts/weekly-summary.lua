-- A weekly summary of the agency's jobs, printed (cron mails standard output).
--
--   jobrules exec scripts/weekly-summary.lua [--now T]
--
-- Jobs by status, by service and by member; jobs that expired and jobs that
-- were declined over the last seven days (with the running totals kept in the
-- store's stats); orders that are late. Changes nothing.

local WEEK = days(7)
local since = now - WEEK

--- Counts of `key(job)` over all jobs, as sorted "name  count" lines.
local function tally(list, key)
  local counts, names = {}, {}
  for _, item in ipairs(list) do
    for _, name in ipairs(key(item)) do
      if counts[name] == nil then
        counts[name] = 0
        names[#names + 1] = name
      end
      counts[name] = counts[name] + 1
    end
  end
  table.sort(names)
  local lines = {}
  for _, name in ipairs(names) do lines[#lines + 1] = ("  %-28s %5d"):format(name, counts[name]) end
  if #lines == 0 then lines[1] = "  (none)" end
  return table.concat(lines, "\n")
end

local all = jobs.where {}
local open = {}
for _, job in ipairs(all) do
  local s = job.status
  if s ~= "declined" and s ~= "expired" and s ~= "completed" then open[#open + 1] = job end
end

local expired, declined = {}, {}
for _, job in ipairs(all) do
  -- A job expires 72 hours after it was created.
  if job.status == "expired" and job.created_at + hours(72) >= since then expired[#expired + 1] = job end
  if job.declined and job.declined.at >= since then declined[#declined + 1] = job end
end

print(("Weekly summary for %s, %s to %s"):format(agency.name, time.iso(since), time.iso(now)))
print()
print(("Jobs by status (%d):"):format(#all))
print(tally(all, function(job) return { job.status } end))
print()
print(("Open jobs by service (%d):"):format(#open))
print(tally(open, function(job) return { job.service } end))
print()
print("Open jobs by member:")
print(tally(open, function(job)
  local names = {}
  for _, member in ipairs(job.assignees) do names[#names + 1] = member.id .. " " .. member.name end
  if #names == 0 then names[1] = "(unassigned)" end
  return names
end))
print()
print(("Expired in the last 7 days: %d"):format(#expired))
print(tally(expired, function(job) return { job.service } end))
print()
print(("Declined in the last 7 days: %d"):format(#declined))
print(tally(declined, function(job) return { job.service .. " (by " .. job.declined.by .. ")" } end))
print()
print(("Late orders: %d"):format(orders.count { late = true }))
for order in orders.each { late = true } do
  print(("  %s %s for %s, due %s (%.0f hours ago)"):format(
    order.id, order.service, order.buyer, time.iso(order.due_at), -order.hours_to_due))
end
