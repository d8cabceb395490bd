-- Chase late orders.
--
-- An order due within 24 hours and not delivered yet gets one notification to
-- the team lead (or the agency's notification address) per due date. A late
-- order (past due, not delivered) gets one extension request: none is asked
-- while one is pending, nor again for the same due date once answered.

local DUE_SOON_HOURS = 24
local EXTENSION_DAYS = 3

local function lead_address()
  for _, member in ipairs(members.all()) do
    if member.role == "lead" then return member.email end
  end
  return agency.preferences.notification_email
end

local function due_soon_subject(order)
  return ("Due soon: order %s for %s (due %s)"):format(order.id, order.buyer, time.iso(order.due_at))
end

--- Subjects of the emails already sent, built once per run on first use.
local sent
local function already_sent(subject)
  if sent == nil then
    sent = {}
    for _, email in ipairs(outbox.all()) do sent[email.subject] = true end
  end
  return sent[subject] == true
end

rule {
  name = "notify-due-soon",
  description = "Tell the lead once about each order due within 24 hours and not delivered",
  on = "orders",
  where = { status = { "not_started", "in_progress" }, late = false },
  ---@param order jobrules.Order
  run = function(order)
    if order.hours_to_due > DUE_SOON_HOURS then return end
    local subject = due_soon_subject(order)
    if already_sent(subject) then return end
    notify {
      to = lead_address(),
      subject = subject,
      body = ("Order %s (%s) for %s is due at %s, in %.1f hours, and is still %s.")
        :format(order.id, order.service, order.buyer, time.iso(order.due_at), order.hours_to_due,
          order.status:gsub("_", " ")),
    }
    sent[subject] = true
  end,
}

rule {
  name = "request-extension-late",
  description = "Ask the buyer once for more time on each late order",
  on = "orders",
  where = { late = true },
  ---@param order jobrules.Order
  run = function(order)
    if order.pending_extension then return end
    for _, request in ipairs(order.extension_requests) do
      -- Already asked since the order fell due: once is enough.
      if request.at >= order.due_at then return end
    end
    order:request_extension(EXTENSION_DAYS,
      ("Delivery is late (it was due %s): we need %d more days to deliver it well.")
        :format(time.iso(order.due_at), EXTENSION_DAYS))
  end,
}
