-- Vacation mode: the agency stops taking new work, and the team hears it.
--
--   jobrules exec scripts/vacation-mode.lua            go on vacation
--   jobrules exec scripts/vacation-mode.lua -- off     come back
--
-- Going on vacation sets the `available` preference to false (merchants can't
-- contact the agency) and emails every active member with the jobs still
-- waiting for an answer, so nothing is forgotten. Coming back sets it to true
-- and tells the team. Running it twice changes nothing the second time.

local coming_back = arg[1] == "off"
if arg[1] ~= nil and arg[1] ~= "off" then
  error(("unknown argument %q: give nothing to go on vacation, or 'off' to come back"):format(arg[1]), 0)
end

local available = agency.preferences.available
if available == coming_back then
  print(("%s is already %s: nothing to do."):format(agency.name, available and "available" or "on vacation"))
  return
end

agency.set_preference("available", coming_back)

-- What still needs an answer: the merchant is waiting, or the job is new.
local waiting = jobs.where { status = { "new", "opened", "awaiting_response" } }
local lines = {}
for _, job in ipairs(waiting) do
  local owner = job.assignees[1] and job.assignees[1].name or "nobody"
  lines[#lines + 1] = ("  %s [%s] %s (%s)"):format(job.id, job.status, job.title, owner)
end

local subject, body
if coming_back then
  subject = agency.name .. " is taking new work again"
  body = "The agency is available again: merchants can contact us.\n"
else
  subject = agency.name .. " is on vacation"
  body = "The agency is marked unavailable: merchants can't contact us until it is switched back\n"
    .. "(jobrules exec scripts/vacation-mode.lua -- off).\n"
end
if #lines > 0 then
  body = body .. ("\nStill waiting for an answer (%d):\n%s\n"):format(#lines, table.concat(lines, "\n"))
end

local told = 0
for _, member in ipairs(members.all()) do
  if member.active then
    notify { to = member, subject = subject, body = body }
    told = told + 1
  end
end
print(("%s: %s; told %d team members; %d jobs waiting for an answer."):format(
  agency.name, coming_back and "available again" or "on vacation", told, #lines))
