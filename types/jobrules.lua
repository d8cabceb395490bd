---@meta jobrules
-- LuaLS annotations for the jobrules API (docs/lua-api.md).
-- Not loaded by jobrules: editors read it through .luarc.json.

---Unix seconds (integer).
---@alias jobrules.Time integer

---@alias jobrules.JobStatus "new"|"opened"|"responded"|"awaiting_response"|"declined"|"expired"|"inactive"|"completed"
---@alias jobrules.OrderStatus "not_started"|"in_progress"|"delivered"|"completed"|"canceled"
---@alias jobrules.MemberRef jobrules.Member|string A member object or a member id.

---A filter: each field is one value or a list meaning "any of"; fields combine with "and".
---@class jobrules.JobFilter
---@field id? string|string[]
---@field status? jobrules.JobStatus|jobrules.JobStatus[]
---@field source? "match"|"direct"|("match"|"direct")[]
---@field service? string|string[]
---@field merchant? jobrules.Merchant|string|(jobrules.Merchant|string)[]|jobrules.MerchantFields Merchant ids must be the store's.
---@field assignee? jobrules.MemberRef|jobrules.MemberRef[]|jobrules.MemberFields Jobs assigned to any of them; ids must be the store's.
---@field unassigned? boolean
---@field tag? string|string[] Jobs with any of these tags.

---The merchants a job filter selects by their fields (`merchant = {industry = "home"}`).
---@class jobrules.MerchantFields
---@field id? string|string[]
---@field name? string|string[]
---@field industry? string|string[]
---@field country? string|string[]
---@field dropshipper? boolean

---The members a job filter selects by their fields (`assignee = {role = "lead"}`).
---@class jobrules.MemberFields
---@field id? string|string[]
---@field name? string|string[]
---@field role? string|string[]
---@field service? string|string[] Members offering any of these services.
---@field active? boolean

---@class jobrules.OrderFilter
---@field id? string|string[]
---@field status? jobrules.OrderStatus|jobrules.OrderStatus[]
---@field service? string|string[]
---@field buyer? string|string[]
---@field late? boolean
---@field view? "active"|"pending"|"delivered"|"completed"|"canceled"|string[]

---@class jobrules.Budget
---@field min? number
---@field max? number
---@field currency? string

---@class jobrules.Priorities
---@field time? "low"|"medium"|"high"
---@field cost? "low"|"medium"|"high"
---@field quality? "low"|"medium"|"high"

---@class jobrules.Note
---@field author jobrules.Member|string|nil
---@field at jobrules.Time
---@field text string

---@class jobrules.Declined
---@field by "agency"|"merchant"
---@field at jobrules.Time
---@field reason string

---A job (read-only fields; change it through its methods).
---@class jobrules.Job
---@field id string
---@field source "match"|"direct"
---@field status jobrules.JobStatus
---@field service string
---@field title string
---@field details string
---@field budget jobrules.Budget?
---@field priorities jobrules.Priorities?
---@field created_at jobrules.Time
---@field opened_at jobrules.Time?
---@field first_response_at jobrules.Time?
---@field expires_at jobrules.Time? nil once the job can't expire.
---@field hours_left number? Hours until it expires; nil once it can't.
---@field merchant jobrules.Merchant
---@field assignees jobrules.Member[]
---@field tags string[]
---@field notes jobrules.Note[]
---@field messages jobrules.Message[]
---@field last_message jobrules.Message?
---@field declined jobrules.Declined?
---@field completed_at jobrules.Time?
local Job = {}
---new → opened.
---Example: `job:open()`
function Job:open() end
---An agency message (as `member`, by default the first assignee or the lead); new/opened/awaiting_response → responded.
---@param text string
---@param member? jobrules.MemberRef
---@return jobrules.Message
---Example: `job:reply("Thanks! We can start Monday.", "m2")`
function Job:reply(text, member) end
---Declines the job; the reason is recorded and counted per service.
---@param reason string
---Example: `jobs.get("J-1004"):decline("we don't do photography")`
function Job:decline(reason) end
---opened/responded/awaiting_response → inactive (the conversation went quiet).
---Example: `job:mark_inactive()`
function Job:mark_inactive() end
---inactive → responded or awaiting_response, from the last message's author.
---Example: `for j in jobs.each{status = "inactive"} do j:reactivate() end`
function Job:reactivate() end
---responded/awaiting_response/inactive → completed.
---Example: `jobs.get("J-1013"):complete()`
function Job:complete() end
---Assigns a member (emailed); assigning someone already assigned changes nothing.
---@param member jobrules.MemberRef
---Example: `job:assign(members.for_service(job.service)[1])`
function Job:assign(member) end
---Takes a member off the job.
---@param member jobrules.MemberRef
---Example: `job:unassign("m3")`
function Job:unassign(member) end
---An internal note.
---@param text string
---@param member? jobrules.MemberRef
---Example: `job:note("Merchant asked for a call on Friday")`
function Job:note(text, member) end
---Adds a tag (once); a job has at most 100.
---@param name string 1 to 64 characters, no spaces or control characters.
---Example: `job:tag("escalated")`
function Job:tag(name) end
---Removes a tag.
---@param name string
---Example: `job:untag("escalated")`
function Job:untag(name) end
---Whether the job has the tag.
---@param name string
---@return boolean
---Example: `if not job:has_tag("escalated") then … end`
function Job:has_tag(name) end

---@class jobrules.Member
---@field id string
---@field name string
---@field email string
---@field role string
---@field services string[]
---@field active boolean
---@field open_jobs integer Assigned jobs not declined, expired or completed.

---@class jobrules.Merchant
---@field id string
---@field name string
---@field store string?
---@field email string?
---@field dropshipper boolean
---@field industry string?
---@field country string?

---@class jobrules.Message
---@field id string
---@field job jobrules.Job
---@field from string "merchant" or "member:<id>".
---@field author jobrules.Member? The member who wrote it, if one did.
---@field at jobrules.Time
---@field body string

---@class jobrules.Contact
---@field id string
---@field name string
---@field email string
---@field at jobrules.Time
---@field message string

---@class jobrules.Email
---@field id string
---@field to string
---@field subject string
---@field body string
---@field job jobrules.Job?
---@field at jobrules.Time

---@class jobrules.ExtensionRequest
---@field days integer
---@field reason string
---@field at jobrules.Time
---@field status "pending"|"accepted"|"declined"
---@field answered_at jobrules.Time?

---@class jobrules.Order
---@field id string
---@field buyer string
---@field service string
---@field status jobrules.OrderStatus
---@field placed_at jobrules.Time
---@field due_at jobrules.Time
---@field delivered_at jobrules.Time?
---@field completed_at jobrules.Time?
---@field canceled {by: "mutual"|"support", at: jobrules.Time}?
---@field hours_to_due number Negative once past due.
---@field late boolean Past due and not delivered, completed or canceled.
---@field views string[] active, pending, delivered, completed, canceled.
---@field extension_requests jobrules.ExtensionRequest[]
---@field pending_extension jobrules.ExtensionRequest?
---@field updates {at: jobrules.Time, text: string}[]
local Order = {}
---not_started → in_progress.
---Example: `orders.get("O-2001"):start()`
function Order:start() end
---A progress update to the buyer.
---@param text string
---Example: `order:post_update("First draft is ready for review")`
function Order:post_update(text) end
---in_progress → delivered.
---Example: `orders.get("O-2003"):deliver()`
function Order:deliver() end
---Asks the buyer for `days` more (1 to 365); one request pending at a time.
---@param days integer
---@param reason string
---Example: `order:request_extension(3, "waiting for the product photos")`
function Order:request_extension(days, reason) end

jobs = {}
---The job with this id, or nil.
---@param id string
---@return jobrules.Job?
---Example: `jobs.get("J-1001")`
function jobs.get(id) end
---The jobs matching the filter, in store order (all jobs without one).
---@param filter? jobrules.JobFilter
---@return jobrules.Job[]
---Example: `jobs.where{status = {"new", "opened"}, service = "seo"}`
function jobs.where(filter) end
---An iterator over the jobs matching the filter, for `for … in`.
---@param filter? jobrules.JobFilter
---@return fun(): jobrules.Job?
---Example: `for job in jobs.each{unassigned = true} do print(job.id) end`
function jobs.each(filter) end
---How many jobs match the filter.
---@param filter? jobrules.JobFilter
---@return integer
---Example: `jobs.count{status = "awaiting_response", assignee = "m2"}`
function jobs.count(filter) end
---Jobs whose merchant name, title, details or notes contain `text` (case-insensitive).
---@param text string
---@return jobrules.Job[]
---Example: `jobs.search("shopify plus")`
function jobs.search(text) end

orders = {}
---The order with this id, or nil.
---@param id string
---@return jobrules.Order?
---Example: `orders.get("O-2001")`
function orders.get(id) end
---The orders matching the filter, in store order.
---@param filter? jobrules.OrderFilter
---@return jobrules.Order[]
---Example: `orders.where{late = true}`
function orders.where(filter) end
---An iterator over the orders matching the filter.
---@param filter? jobrules.OrderFilter
---@return fun(): jobrules.Order?
---Example: `for order in orders.each{view = "active"} do print(order.id, order.hours_to_due) end`
function orders.each(filter) end
---How many orders match the filter.
---@param filter? jobrules.OrderFilter
---@return integer
---Example: `orders.count{status = "in_progress"}`
function orders.count(filter) end

members = {}
---The team member with this id, or nil.
---@param id string
---@return jobrules.Member?
---Example: `members.get("m2")`
function members.get(id) end
---Every team member, active or not.
---@return jobrules.Member[]
---Example: `members.all()`
function members.all() end
---Active members offering `service`, in store order.
---@param service string
---@return jobrules.Member[]
---Example: `members.for_service("seo")`
function members.for_service(service) end

merchants = {}
---The merchant with this id, or nil.
---@param id string
---@return jobrules.Merchant?
---Example: `merchants.get("mer2")`
function merchants.get(id) end
---Every merchant.
---@return jobrules.Merchant[]
---Example: `merchants.all()`
function merchants.all() end

contacts = {}
---Prospective merchants who wrote by email (read-only).
---@return jobrules.Contact[]
---Example: `contacts.all()`
function contacts.all() end

outbox = {}
---Every email sent or queued, oldest first.
---@return jobrules.Email[]
---Example: `outbox.all()`
function outbox.all() end

---@class jobrules.Service
---@field id string
---@field name string
---@field min_budget number?
---@field currency string?

---@class jobrules.Preferences
---@field available boolean
---@field listed_in_search boolean
---@field works_with_dropshippers boolean
---@field notification_email string

---The agency: its name, its services and its preferences.
---@class jobrules.Agency
---@field name string
---@field services jobrules.Service[]
---@field preferences jobrules.Preferences A copy: change it with set_preference.
---@field offers fun(service: string): boolean
---@field set_preference fun(name: "available"|"listed_in_search"|"works_with_dropshippers"|"notification_email", value: boolean|string)
---@type jobrules.Agency
---The agency; `agency.offers(service)`, `agency.set_preference(name, value)`.
---Example: `agency.set_preference("available", false)`
agency = {}

---@class jobrules.Notification
---@field to jobrules.MemberRef|string A member, a member id or an email address.
---@field subject string One line, at most 998 bytes.
---@field body? string
---@field job? jobrules.Job|string

---Adds an email to the outbox; at most 10 000 in one call into Lua (a rule on one item, a script, a statement).
---@param email jobrules.Notification
---@return jobrules.Email
---Example: `notify{to = "m2", subject = "Call the merchant", body = "…", job = job}`
function notify(email) end

---@class jobrules.RuleDeclaration
---@field name string Unique; 1 to 100 characters, no spaces.
---@field description? string
---@field on "jobs"|"orders"
---@field where? jobrules.JobFilter|jobrules.OrderFilter|fun(item: any): boolean
---@field run fun(item: any)

---Declares a rule: `run(item)` for each item of `on` that `where` selects, in store order.
---@param declaration jobrules.RuleDeclaration
---Example: `rule{name = "tag-seo", on = "jobs", where = {service = "seo"}, run = function(job) job:tag("seo") end}`
function rule(declaration) end

---The run's clock (Unix seconds).
---@type jobrules.Time
---Example: `time.iso(now)`
now = 0

---Seconds in `n` hours.
---@param n number
---@return integer seconds
---Example: `jobs.get("J-1001").created_at + hours(72)`
function hours(n) end
---Seconds in `n` days.
---@param n number
---@return integer seconds
---Example: `order.due_at - days(1)`
function days(n) end

time = {}
---A time as RFC 3339 text, in UTC.
---@param t jobrules.Time
---@return string RFC 3339, UTC
---Example: `time.iso(now)`
function time.iso(t) end
---RFC 3339 text as a time; nil and a message when it is not one.
---@param s string RFC 3339
---@return jobrules.Time?, string? error
---Example: `time.parse("2026-11-21T09:30:00Z")`
function time.parse(s) end

---`exec` scripts: the script's path at 0, its arguments (after --) from 1.
---@type string[]
---Example: `local member = arg[1] or error("usage: jobrules exec hand-over.lua -- MEMBER")`
arg = {}
