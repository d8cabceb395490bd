-- Decline jobs that don't fit the agency.
--
-- A new or opened job is declined when the agency does not offer its service,
-- when its merchant is a dropshipper and the agency does not work with
-- dropshippers, or when its budget's max is under the service's minimum. The
-- reason names every mismatch found.

-- The agency's services by id, read once when the file loads: rules can't
-- change the services, and `agency.services` is a fresh copy at every read.
local services = {}
for _, service in ipairs(agency.services) do services[service.id] = service end

--- The agency's service with this id, or nil.
local function service_of(id)
  return services[id]
end

--- Why `job` doesn't fit, as a list of reasons (empty when it fits).
local function mismatches(job)
  local reasons = {}
  local service = service_of(job.service)
  if not service then
    reasons[#reasons + 1] = ("the agency does not offer the service %q"):format(job.service)
  else
    local budget = job.budget
    local same_currency = not (budget and budget.currency and service.currency)
      or budget.currency == service.currency
    if budget and budget.max and service.min_budget and same_currency and budget.max < service.min_budget then
      reasons[#reasons + 1] = ("the budget (at most %s %s) is under the minimum of %s %s for %s"):format(
        budget.max, budget.currency or service.currency or "", service.min_budget,
        service.currency or budget.currency or "", service.name)
    end
  end
  if job.merchant.dropshipper and not agency.preferences.works_with_dropshippers then
    reasons[#reasons + 1] = ("the merchant %s is a dropshipper and the agency does not work with dropshippers")
      :format(job.merchant.name)
  end
  return reasons
end

rule {
  name = "decline-mismatched",
  description = "Decline new and opened jobs outside our services, from dropshippers, or under budget",
  on = "jobs",
  where = { status = { "new", "opened" } },
  ---@param job jobrules.Job
  run = function(job)
    local reasons = mismatches(job)
    if #reasons > 0 then
      job:decline(table.concat(reasons, "; "))
    end
  end,
}
