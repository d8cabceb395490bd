-- Hand over every open job of a departing member to the rest of the team.
--
--   jobrules exec scripts/hand-over.lua -- MEMBER_ID [--dry-run first to see the plan]
--
-- Each open job (not declined, expired or completed) assigned to MEMBER_ID
-- goes to the active member offering its service with the fewest open jobs
-- (ties by id), who is emailed as for any assignment; a note records the
-- hand-over. A job nobody else can take stays with them and the lead hears of
-- it. The member's own record is left as it is (mark them inactive in the store).

local departing_id = arg[1]
if departing_id == nil then error("which member is leaving? jobrules exec scripts/hand-over.lua -- MEMBER_ID", 0) end
local departing = members.get(departing_id)
if departing == nil then error(("no member %q"):format(departing_id), 0) end

local function successor(service)
  local best
  for _, member in ipairs(members.for_service(service)) do
    if member ~= departing and (best == nil or member.open_jobs < best.open_jobs
        or (member.open_jobs == best.open_jobs and member.id < best.id)) then
      best = member
    end
  end
  return best
end

local moved, stuck = 0, {}
for job in jobs.each { assignee = departing } do
  local s = job.status
  if s ~= "declined" and s ~= "expired" and s ~= "completed" then
    local next_member = successor(job.service)
    if next_member then
      job:assign(next_member)
      job:unassign(departing)
      job:note(("Handed over from %s to %s."):format(departing.name, next_member.name))
      print(("%s → %s  %s"):format(job.id, next_member.id, job.title))
      moved = moved + 1
    else
      stuck[#stuck + 1] = job
    end
  end
end

if #stuck > 0 then
  local lines = {}
  for _, job in ipairs(stuck) do lines[#lines + 1] = ("  %s %s (%s)"):format(job.id, job.title, job.service) end
  local lead
  for _, member in ipairs(members.all()) do
    if member.role == "lead" and member ~= departing then lead = member break end
  end
  notify {
    to = lead or agency.preferences.notification_email,
    subject = ("%d jobs of %s need a new owner"):format(#stuck, departing.name),
    body = "Nobody else offers their services:\n" .. table.concat(lines, "\n") .. "\n",
  }
end
print(("%s: %d jobs handed over, %d left for the lead to place."):format(departing.name, moved, #stuck))
