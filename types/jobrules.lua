---@meta jobrules
-- LuaLS annotations for the jobrules API (SPEC §4; docs/lua-api.md).
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
---@field merchant? jobrules.Merchant|string|(jobrules.Merchant|string)[]
---@field assignee? jobrules.MemberRef|jobrules.MemberRef[] Jobs assigned to any of them.
---@field unassigned? boolean
---@field tag? string|string[] Jobs with any of these tags.

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
function Job:open() end
---An agency message (as `member`, by default the first assignee or the lead); new/opened/awaiting_response → responded.
---@param text string
---@param member? jobrules.MemberRef
---@return jobrules.Message
function Job:reply(text, member) end
---Declines the job; the reason is recorded and counted per service.
---@param reason string
function Job:decline(reason) end
function Job:mark_inactive() end
---inactive → responded or awaiting_response, from the last message's author.
function Job:reactivate() end
function Job:complete() end
---Assigns a member (emailed); assigning someone already assigned changes nothing.
---@param member jobrules.MemberRef
function Job:assign(member) end
---@param member jobrules.MemberRef
function Job:unassign(member) end
---An internal note.
---@param text string
---@param member? jobrules.MemberRef
function Job:note(text, member) end
---@param name string 1 to 64 characters, no spaces.
function Job:tag(name) end
---@param name string
function Job:untag(name) end
---@param name string
---@return boolean
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
function Order:start() end
---A progress update to the buyer.
---@param text string
function Order:post_update(text) end
---in_progress → delivered.
function Order:deliver() end
---Asks the buyer for `days` more (1 to 365); one request pending at a time.
---@param days integer
---@param reason string
function Order:request_extension(days, reason) end

jobs = {}
---@param id string
---@return jobrules.Job?
function jobs.get(id) end
---@param filter? jobrules.JobFilter
---@return jobrules.Job[]
function jobs.where(filter) end
---@param filter? jobrules.JobFilter
---@return fun(): jobrules.Job?
function jobs.each(filter) end
---@param filter? jobrules.JobFilter
---@return integer
function jobs.count(filter) end
---Jobs whose merchant name, title, details or notes contain `text` (case-insensitive).
---@param text string
---@return jobrules.Job[]
function jobs.search(text) end

orders = {}
---@param id string
---@return jobrules.Order?
function orders.get(id) end
---@param filter? jobrules.OrderFilter
---@return jobrules.Order[]
function orders.where(filter) end
---@param filter? jobrules.OrderFilter
---@return fun(): jobrules.Order?
function orders.each(filter) end
---@param filter? jobrules.OrderFilter
---@return integer
function orders.count(filter) end

members = {}
---@param id string
---@return jobrules.Member?
function members.get(id) end
---@return jobrules.Member[]
function members.all() end
---Active members offering `service`, in store order.
---@param service string
---@return jobrules.Member[]
function members.for_service(service) end

merchants = {}
---@param id string
---@return jobrules.Merchant?
function merchants.get(id) end
---@return jobrules.Merchant[]
function merchants.all() end

contacts = {}
---Prospective merchants who wrote by email (read-only).
---@return jobrules.Contact[]
function contacts.all() end

outbox = {}
---@return jobrules.Email[]
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

---@class jobrules.Agency
---@field name string
---@field services jobrules.Service[]
---@field preferences jobrules.Preferences A copy: change it with set_preference.
---@field offers fun(service: string): boolean
---@field set_preference fun(name: "available"|"listed_in_search"|"works_with_dropshippers"|"notification_email", value: boolean|string)
---@type jobrules.Agency
agency = {}

---@class jobrules.Notification
---@field to jobrules.MemberRef|string A member, a member id or an email address.
---@field subject string
---@field body? string
---@field job? jobrules.Job|string

---Adds an email to the outbox.
---@param email jobrules.Notification
---@return jobrules.Email
function notify(email) end

---@class jobrules.RuleDeclaration
---@field name string Unique; 1 to 100 characters, no spaces.
---@field description? string
---@field on "jobs"|"orders"
---@field where? jobrules.JobFilter|jobrules.OrderFilter|fun(item: any): boolean
---@field run fun(item: any)

---Declares a rule: `run(item)` for each item of `on` that `where` selects, in store order.
---@param declaration jobrules.RuleDeclaration
function rule(declaration) end

---The run's clock (Unix seconds).
---@type jobrules.Time
now = 0

---@param n number
---@return integer seconds
function hours(n) end
---@param n number
---@return integer seconds
function days(n) end

time = {}
---@param t jobrules.Time
---@return string RFC 3339, UTC
function time.iso(t) end
---@param s string RFC 3339
---@return jobrules.Time?, string? error
function time.parse(s) end

---`exec` scripts: the script's path at 0, its arguments (after --) from 1.
---@type string[]
arg = {}
