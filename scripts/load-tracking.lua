-- wrk: rotate over the tracking URLs in $TRACKING_URLS (one path per line), each request from a
-- new client address (X-Forwarded-For, believed from loopback) with a desktop Safari agent.
local paths = {}
for line in io.lines(os.getenv("TRACKING_URLS")) do
  paths[#paths + 1] = line
end
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local n = 0
local agent = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15"
function request()
  n = n + 1
  -- Documentation addresses (2001:db8::/32): the thread and the request count make each new.
  local address = string.format("2001:db8:%x::%x:%x", id, math.floor(n / 65536), n % 65536)
  return wrk.format("GET", paths[(n % #paths) + 1], { ["User-Agent"] = agent, ["X-Forwarded-For"] = address })
end
