"""What `jobrules run` does with rules/01 to rules/03, written in plain Python
the way an agency engineer would without jobrules: load the store, expire
jobs 72 hours old, decline mismatched jobs, assign by service, escalate jobs
about to expire, then save atomically and append the audit log.

The JSON library is the caller's (ref-python-json.py: the standard `json`
module; ref-python-orjson.py: orjson); everything else is shared.

    run(path, now, loads, dumps)
"""
import calendar
import datetime as dt
import json
import os
import secrets

EXPIRY_SECONDS = 72 * 3600
OPEN_STATUSES = ("new", "opened", "responded", "awaiting_response", "inactive")
CLOSED_STATUSES = ("declined", "expired", "completed")
ESCALATION_HOURS = 12
ESCALATION_TAG = "escalated"


def parse_time(text):
    return calendar.timegm(dt.datetime.fromisoformat(text.replace("Z", "+00:00")).utctimetuple())


def iso(t):
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def lua_number(x):
    """A number as Lua's `%s` prints it (the shipped rules format with Lua)."""
    if isinstance(x, float):
        return "%.1f" % x if x.is_integer() else "%.14g" % x
    return str(x)


def lua_quoted(text):
    """`%q` for the plain ids the stores hold."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\\n") + '"'


class Run:
    def __init__(self, store, now):
        self.store = store
        self.now = now
        self.now_iso = iso(now)
        self.changes = []
        stats = store.setdefault("stats", {})
        self.declines = stats.setdefault("declines_by_service", {})
        self.expiries = stats.setdefault("expired_by_service", {})
        self.members = store["members"]
        self.merchants = {m["id"]: m for m in store["merchants"]}
        self.outbox = store.setdefault("outbox", [])
        self.next_email = 1 + max(
            (int(e["id"][1:]) for e in self.outbox if e["id"][:1] == "e" and e["id"][1:].isdigit()), default=0)
        self.email_ids = {e["id"] for e in self.outbox}

    def record(self, actor, kind, obj, field, old, new):
        self.changes.append((actor, kind, obj, field, old, new))

    def count(self, table, field, service, actor):
        old = table.get(service, 0)
        table[service] = old + 1
        self.record(actor, "stats", "stats", f"{field}.{service}", old or None, old + 1)

    def email(self, actor, to, subject, body, job):
        while f"e{self.next_email}" in self.email_ids:
            self.next_email += 1
        entry = {"id": f"e{self.next_email}", "to": to, "subject": subject, "body": body,
                 "job": job["id"], "at": self.now_iso}
        self.next_email += 1
        self.outbox.append(entry)
        self.record(actor, "outbox", entry["id"], "created", None, {"to": to, "subject": subject, "job": job["id"]})

    def expires_at(self, job):
        return parse_time(job["created_at"]) + EXPIRY_SECONDS if job["status"] in ("new", "opened") else None

    # Expiry, before any rule.
    def expire(self):
        for job in self.store["jobs"]:
            expires = self.expires_at(job)
            if expires is not None and self.now >= expires:
                self.record("expiry", "job", job["id"], "status", job["status"], "expired")
                job["status"] = "expired"
                self.count(self.expiries, "expired_by_service", job["service"], "expiry")

    # rules/01-decline-mismatched.lua
    def decline_mismatched(self):
        actor = "rule:decline-mismatched"
        agency = self.store["agency"]
        services = {s["id"]: s for s in agency["services"]}
        dropshippers_ok = agency["preferences"].get("works_with_dropshippers")
        for job in self.store["jobs"]:
            if job["status"] not in ("new", "opened"):
                continue
            reasons = []
            service = services.get(job["service"])
            if service is None:
                reasons.append(f"the agency does not offer the service {lua_quoted(job['service'])}")
            else:
                budget = job.get("budget") or {}
                minimum, currency = service.get("min_budget"), service.get("currency")
                same = not (budget.get("currency") and currency) or budget["currency"] == currency
                if budget.get("max") is not None and minimum is not None and same and budget["max"] < minimum:
                    reasons.append("the budget (at most %s %s) is under the minimum of %s %s for %s" % (
                        lua_number(budget["max"]), budget.get("currency") or currency or "",
                        lua_number(minimum), currency or budget.get("currency") or "", service["name"]))
            merchant = self.merchants[job["merchant"]]
            if merchant.get("dropshipper") and not dropshippers_ok:
                reasons.append(f"the merchant {merchant['name']} is a dropshipper and the agency does not work with dropshippers")
            if reasons:
                declined = {"by": "agency", "at": self.now_iso, "reason": "; ".join(reasons)}
                self.record(actor, "job", job["id"], "status", job["status"], "declined")
                self.record(actor, "job", job["id"], "declined", None, declined)
                job["status"] = "declined"
                job["declined"] = declined
                self.count(self.declines, "declines_by_service", job["service"], actor)

    # rules/02-assign-by-service.lua
    def assign_by_service(self):
        actor = "rule:assign-by-service"
        open_jobs = {m["id"]: 0 for m in self.members}
        for job in self.store["jobs"]:
            if job["status"] not in CLOSED_STATUSES:
                for member_id in job["assignees"]:
                    open_jobs[member_id] += 1
        for job in self.store["jobs"]:
            if job["assignees"] or job["status"] not in OPEN_STATUSES:
                continue
            best = None
            for member in self.members:
                if member.get("active") and job["service"] in member["services"]:
                    if best is None or (open_jobs[member["id"]], member["id"]) < (open_jobs[best["id"]], best["id"]):
                        best = member
            if best is None:
                continue
            job["assignees"] = [best["id"]]
            open_jobs[best["id"]] += 1
            self.record(actor, "job", job["id"], "assignees", None, best["id"])
            merchant = self.merchants[job["merchant"]]
            body = (f"Hi {best['name']},\n\nYou were assigned job {job['id']} from {merchant['name']} "
                    f"({job['service']}):\n\n{job['title']}\n")
            expires = self.expires_at(job)
            if expires is not None:
                body += f"\nIt expires at {iso(expires)} unless the agency answers or declines it first.\n"
            self.email(actor, best["email"], f"Assigned to you: {job['id']} {job['title']}", body, job)

    # rules/03-escalate-near-expiry.lua
    def escalate_near_expiry(self):
        actor = "rule:escalate-near-expiry"
        emails = {m["id"]: m["email"] for m in self.members}
        lead = next((m for m in self.members if m.get("role") == "lead"), None)
        notification = self.store["agency"]["preferences"].get("notification_email")
        for job in self.store["jobs"]:
            expires = self.expires_at(job)
            if job.get("first_response_at") is not None or expires is None:
                continue
            hours_left = (expires - self.now) / 3600
            if hours_left >= ESCALATION_HOURS or ESCALATION_TAG in job["tags"]:
                continue
            left = "%.1f hours" % hours_left
            note = {"author": None, "at": self.now_iso,
                    "text": f"Escalated: no response yet and {left} left; the job expires at {iso(expires)}."}
            job["notes"].append(note)
            self.record(actor, "job", job["id"], "notes", None, note)
            job["tags"].append(ESCALATION_TAG)
            self.record(actor, "job", job["id"], "tags", None, ESCALATION_TAG)
            recipients = []
            for address in [emails[m] for m in job["assignees"]] + ([lead["email"]] if lead else []):
                if address and address not in recipients:
                    recipients.append(address)
            if not recipients and notification:
                recipients.append(notification)
            merchant = self.merchants[job["merchant"]]
            for address in recipients:
                self.email(actor, address, f"Expiring in {left}: {job['id']} {job['title']}",
                           f"{job['id']} from {merchant['name']} ({job['service']}) has no response yet and expires at "
                           f"{iso(expires)}.\nAnswer or decline it before then: expired jobs hurt the agency's ranking.",
                           job)


def save(path, data, audit_lines):
    """Temporary file, fsync, audit append and fsync, rename, directory fsync."""
    directory = os.path.dirname(os.path.abspath(path))
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    with open(path + ".audit.jsonl", "ab") as f:
        f.write(audit_lines)
        f.flush()
        os.fsync(f.fileno())
    os.rename(temporary, path)
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def run(path, now, loads, dumps):
    with open(path, "rb") as f:
        store = loads(f.read())
    r = Run(store, now)
    r.expire()
    r.decline_mismatched()
    r.assign_by_service()
    r.escalate_near_expiry()
    if r.changes:
        store["revision"] += 1
        run_id = secrets.token_hex(8)
        lines = [json.dumps({"run": run_id, "revision": store["revision"], "at": r.now_iso, "actor": a, "kind": k,
                             "object": o, "field": f, "old": old, "new": new}, ensure_ascii=False,
                            separators=(",", ":"))
                 for a, k, o, f, old, new in r.changes]
        save(path, dumps(store), ("\n".join(lines) + "\n").encode())
    return len(r.changes)
