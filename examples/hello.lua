-- A first script for `jobrules exec`: the sandboxed standard library at work.
local services = {
  {id = "theme-customization", jobs = 12, declined = 2},
  {id = "seo", jobs = 7, declined = 4},
  {id = "migration", jobs = 3, declined = 0},
}

table.sort(services, function(a, b) return a.jobs > b.jobs end)

print(string.format("%-22s %5s %9s %6s", "service", "jobs", "declined", "rate"))
for _, s in ipairs(services) do
  print(string.format("%-22s %5d %9d %5.0f%%", s.id, s.jobs, s.declined, 100 * s.declined / s.jobs))
end
print(os.date("!generated %Y-%m-%d", 0 + os.time()))
