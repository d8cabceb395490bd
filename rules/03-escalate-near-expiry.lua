-- Escalate jobs about to expire.
--
-- A job with no first response and fewer than 12 hours left before it expires
-- gets one escalation: a note, the tag `escalated`, and an email to each
-- assignee and the team lead (or, with neither, the agency's notification
-- address). The tag marks it: a job is never escalated twice.

local THRESHOLD_HOURS = 12
local TAG = "escalated"

--- The team lead: the first member whose role is "lead", or nil.
local function lead()
  for _, member in ipairs(members.all()) do
    if member.role == "lead" then return member end
  end
  return nil
end

--- Who hears about an escalation: email addresses, each once, assignees first.
local function recipients(job)
  local seen, list = {}, {}
  local function add(address)
    if address and address ~= "" and not seen[address] then
      seen[address] = true
      list[#list + 1] = address
    end
  end
  for _, member in ipairs(job.assignees) do add(member.email) end
  local team_lead = lead()
  if team_lead then add(team_lead.email) end
  if #list == 0 then add(agency.preferences.notification_email) end
  return list
end

rule {
  name = "escalate-near-expiry",
  description = "Escalate once jobs with no first response and under 12 hours left",
  on = "jobs",
  ---@param job jobrules.Job
  where = function(job)
    return job.first_response_at == nil
      and job.hours_left ~= nil
      and job.hours_left < THRESHOLD_HOURS
      and not job:has_tag(TAG)
  end,
  ---@param job jobrules.Job
  run = function(job)
    local left = ("%.1f hours"):format(job.hours_left)
    local expires = time.iso(job.expires_at)
    job:note(("Escalated: no response yet and %s left; the job expires at %s."):format(left, expires))
    job:tag(TAG)
    for _, address in ipairs(recipients(job)) do
      notify {
        to = address,
        subject = ("Expiring in %s: %s %s"):format(left, job.id, job.title),
        body = ("%s from %s (%s) has no response yet and expires at %s.\n"
          .. "Answer or decline it before then: expired jobs hurt the agency's ranking.")
          :format(job.id, job.merchant.name, job.service, expires),
        job = job,
      }
    end
  end,
}
