-- The shipped rules 01-03 and expiry in plain Lua 5.4 with Debian's lua-cjson,
-- written the way an agency engineer would without jobrules: load the store,
-- expire jobs 72 hours old, decline mismatched jobs, assign by service,
-- escalate jobs about to expire, save atomically and append the audit log.
--
--   lua5.4 bench/ref-lua-cjson.lua STORE NOW
--
-- lua-cjson 2.1.0 encodes every empty table as {}, so the store's arrays that
-- may be empty are marked before encoding and put back as [] afterwards.
-- Plain Lua has no fsync: `sync FILE` (coreutils) does it. Numbers keep 14
-- significant digits, lua-cjson's most.

local cjson = require("cjson")
cjson.encode_number_precision(14)

local path, now_text = arg[1], arg[2]
if not path or not now_text then
  io.stderr:write("usage: lua5.4 bench/ref-lua-cjson.lua STORE NOW\n")
  os.exit(2)
end

local EXPIRY_SECONDS = 72 * 3600
local ESCALATION_HOURS = 12
local ESCALATION_TAG = "escalated"
local OPEN = { new = true, opened = true, responded = true, awaiting_response = true, inactive = true }
local CLOSED = { declined = true, expired = true, completed = true }
local null = cjson.null

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = (y >= 0 and y or y - 399) // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local time_cache = {}
local function parse_time(text)
  local t = time_cache[text]
  if t then return t end
  local y, mo, d, h, mi, s = text:match("^(%d+)-(%d+)-(%d+)T(%d+):(%d+):(%d+)")
  t = days_from_civil(tonumber(y), tonumber(mo), tonumber(d)) * 86400 + h * 3600 + mi * 60 + s
  time_cache[text] = t
  return t
end

local function iso(t) return os.date("!%Y-%m-%dT%H:%M:%SZ", t) end

local function is_null(v) return v == nil or v == null end

local now = parse_time(now_text)
local now_iso = iso(now)

local file = assert(io.open(path, "rb"))
local store = cjson.decode(file:read("a"))
file:close()

-- Stands for [] until the encoded text is written (see the top).
local EMPTY = "\1jobrules-empty-array\1"
local function unmark(text) return (text:gsub('"\\u0001jobrules%-empty%-array\\u0001"', "[]")) end

local changes = {}
local function value(v)
  if v == nil then return null end
  if type(v) == "table" and next(v) == nil then return EMPTY end
  return v
end
local function record(actor, kind, object, field, old, new)
  changes[#changes + 1] = { actor = actor, kind = kind, object = object, field = field, old = value(old), new = value(new) }
end

store.stats = store.stats or {}
local declines = store.stats.declines_by_service or {}
local expiries = store.stats.expired_by_service or {}
store.stats.declines_by_service, store.stats.expired_by_service = declines, expiries

local function count(map, field, service, actor)
  local old = map[service] or 0
  map[service] = old + 1
  record(actor, "stats", "stats", field .. "." .. service, old ~= 0 and old or nil, old + 1)
end

local members = store.members
local merchants = {}
for _, merchant in ipairs(store.merchants) do merchants[merchant.id] = merchant end
store.outbox = store.outbox or {}
local outbox = store.outbox
local email_ids, next_email = {}, 1
for _, e in ipairs(outbox) do
  email_ids[e.id] = true
  local n = tonumber(e.id:match("^e(%d+)$"))
  if n and n >= next_email then next_email = n + 1 end
end

local function email(actor, to, subject, body, job)
  while email_ids["e" .. next_email] do next_email = next_email + 1 end
  local entry = { id = "e" .. next_email, to = to, subject = subject, body = body, job = job.id, at = now_iso }
  next_email = next_email + 1
  outbox[#outbox + 1] = entry
  record(actor, "outbox", entry.id, "created", nil, { to = to, subject = subject, job = job.id })
end

local function expires_at(job)
  if job.status == "new" or job.status == "opened" then return parse_time(job.created_at) + EXPIRY_SECONDS end
  return nil
end

local jobs = store.jobs

-- Expiry, before any rule.
for _, job in ipairs(jobs) do
  local expires = expires_at(job)
  if expires and now >= expires then
    record("expiry", "job", job.id, "status", job.status, "expired")
    job.status = "expired"
    count(expiries, "expired_by_service", job.service, "expiry")
  end
end

-- rules/01-decline-mismatched.lua
do
  local actor = "rule:decline-mismatched"
  local services = {}
  for _, service in ipairs(store.agency.services) do services[service.id] = service end
  local dropshippers_ok = store.agency.preferences.works_with_dropshippers == true
  for _, job in ipairs(jobs) do
    if job.status == "new" or job.status == "opened" then
      local reasons = {}
      local service = services[job.service]
      if not service then
        reasons[#reasons + 1] = ("the agency does not offer the service %q"):format(job.service)
      else
        local budget = not is_null(job.budget) and job.budget or {}
        local currency = not is_null(budget.currency) and budget.currency or nil
        local minimum = not is_null(service.min_budget) and service.min_budget or nil
        local service_currency = not is_null(service.currency) and service.currency or nil
        local same = not (currency and service_currency) or currency == service_currency
        if not is_null(budget.max) and minimum and same and budget.max < minimum then
          reasons[#reasons + 1] = ("the budget (at most %s %s) is under the minimum of %s %s for %s"):format(
            math.tointeger(budget.max) or budget.max, currency or service_currency or "",
            math.tointeger(minimum) or minimum, service_currency or currency or "", service.name)
        end
      end
      local merchant = merchants[job.merchant]
      if merchant.dropshipper == true and not dropshippers_ok then
        reasons[#reasons + 1] = ("the merchant %s is a dropshipper and the agency does not work with dropshippers")
          :format(merchant.name)
      end
      if #reasons > 0 then
        local declined = { by = "agency", at = now_iso, reason = table.concat(reasons, "; ") }
        record(actor, "job", job.id, "status", job.status, "declined")
        record(actor, "job", job.id, "declined", nil, declined)
        job.status = "declined"
        job.declined = declined
        count(declines, "declines_by_service", job.service, actor)
      end
    end
  end
end

-- rules/02-assign-by-service.lua
do
  local actor = "rule:assign-by-service"
  local open_jobs = {}
  for _, member in ipairs(members) do open_jobs[member.id] = 0 end
  for _, job in ipairs(jobs) do
    if not CLOSED[job.status] then
      for _, id in ipairs(job.assignees) do open_jobs[id] = open_jobs[id] + 1 end
    end
  end
  for _, job in ipairs(jobs) do
    if #job.assignees == 0 and OPEN[job.status] then
      local best
      for _, member in ipairs(members) do
        if member.active == true then
          for _, service in ipairs(member.services) do
            if service == job.service then
              if best == nil or open_jobs[member.id] < open_jobs[best.id]
                or (open_jobs[member.id] == open_jobs[best.id] and member.id < best.id) then
                best = member
              end
              break
            end
          end
        end
      end
      if best then
        job.assignees = { best.id }
        open_jobs[best.id] = open_jobs[best.id] + 1
        record(actor, "job", job.id, "assignees", nil, best.id)
        local merchant = merchants[job.merchant]
        local body = ("Hi %s,\n\nYou were assigned job %s from %s (%s):\n\n%s\n"):format(
          best.name, job.id, merchant.name, job.service, job.title)
        local expires = expires_at(job)
        if expires then
          body = body .. ("\nIt expires at %s unless the agency answers or declines it first.\n"):format(iso(expires))
        end
        email(actor, best.email, ("Assigned to you: %s %s"):format(job.id, job.title), body, job)
      end
    end
  end
end

-- rules/03-escalate-near-expiry.lua
do
  local actor = "rule:escalate-near-expiry"
  local emails, lead = {}, nil
  for _, member in ipairs(members) do
    emails[member.id] = member.email
    if lead == nil and member.role == "lead" then lead = member end
  end
  local notification = store.agency.preferences.notification_email
  for _, job in ipairs(jobs) do
    local expires = expires_at(job)
    if is_null(job.first_response_at) and expires then
      local hours_left = (expires - now) / 3600
      local tagged = false
      for _, tag in ipairs(job.tags) do
        if tag == ESCALATION_TAG then tagged = true break end
      end
      if hours_left < ESCALATION_HOURS and not tagged then
        local left = ("%.1f hours"):format(hours_left)
        local note = { author = null, at = now_iso,
          text = ("Escalated: no response yet and %s left; the job expires at %s."):format(left, iso(expires)) }
        job.notes[#job.notes + 1] = note
        record(actor, "job", job.id, "notes", nil, note)
        job.tags[#job.tags + 1] = ESCALATION_TAG
        record(actor, "job", job.id, "tags", nil, ESCALATION_TAG)
        local seen, recipients = {}, {}
        local function add(address)
          if type(address) == "string" and address ~= "" and not seen[address] then
            seen[address] = true
            recipients[#recipients + 1] = address
          end
        end
        for _, id in ipairs(job.assignees) do add(emails[id]) end
        if lead then add(lead.email) end
        if #recipients == 0 then add(notification) end
        local merchant = merchants[job.merchant]
        for _, address in ipairs(recipients) do
          email(actor, address, ("Expiring in %s: %s %s"):format(left, job.id, job.title),
            ("%s from %s (%s) has no response yet and expires at %s.\n"
              .. "Answer or decline it before then: expired jobs hurt the agency's ranking.")
              :format(job.id, merchant.name, job.service, iso(expires)), job)
        end
      end
    end
  end
end

if #changes == 0 then
  print("0 changes")
  os.exit(0)
end

-- Save: mark the arrays that may be empty, encode, put them back as [].
local function mark(t, ...)
  for _, key in ipairs({ ... }) do
    if type(t[key]) == "table" and next(t[key]) == nil then t[key] = EMPTY end
  end
end
mark(store, "jobs", "members", "merchants", "messages", "contacts", "orders", "outbox")
mark(store.agency, "services")
for _, member in ipairs(members) do mark(member, "services") end
for _, job in ipairs(jobs) do mark(job, "assignees", "tags", "notes") end
for _, order in ipairs(store.orders or {}) do mark(order, "extension_requests", "updates") end
store.revision = math.tointeger(store.revision) + 1
local encoded = unmark(cjson.encode(store))

local run_id = ("%08x%08x"):format(math.random(0, 0xffffffff), math.random(0, 0xffffffff))
local lines = {}
for i, c in ipairs(changes) do
  lines[i] = unmark(cjson.encode({ run = run_id, revision = store.revision, at = now_iso, actor = c.actor, kind = c.kind,
    object = c.object, field = c.field, old = c.old, new = c.new }))
end

local function sync(file_path)
  assert(os.execute("sync -- '" .. file_path:gsub("'", "'\\''") .. "'"), "sync failed: " .. file_path)
end
local temporary = path .. ".tmp-ref"
local out = assert(io.open(temporary, "wb"))
assert(out:write(encoded))
assert(out:close())
sync(temporary)
local audit = assert(io.open(path .. ".audit.jsonl", "ab"))
assert(audit:write(table.concat(lines, "\n"), "\n"))
assert(audit:close())
sync(path .. ".audit.jsonl")
assert(os.rename(temporary, path))
sync(path:match("^(.*)/[^/]*$") or ".")
print(("%d changes"):format(#changes))
