-- Assign jobs by service type.
--
-- Each unassigned open job goes to the active member offering its service who
-- has the fewest open jobs; ties go to the smaller member id (ids compare as
-- strings, byte by byte). Counts include the assignments made earlier in the
-- same run. A job whose service nobody offers stays unassigned.

--- The member to give a `service` job to, or nil.
local function pick(service)
  local best, best_jobs, best_id
  for _, member in ipairs(members.for_service(service)) do
    local jobs = member.open_jobs
    if best == nil or jobs < best_jobs or (jobs == best_jobs and member.id < best_id) then
      best, best_jobs, best_id = member, jobs, member.id
    end
  end
  return best
end

rule {
  name = "assign-by-service",
  description = "Give each unassigned open job to the active member of its service with the fewest open jobs",
  on = "jobs",
  where = { unassigned = true, status = { "new", "opened", "responded", "awaiting_response", "inactive" } },
  ---@param job jobrules.Job
  run = function(job)
    local member = pick(job.service)
    if member then
      job:assign(member)
    end
  end,
}
