-- wrk script for bench/http.sh.
--
-- Without REQ_FILE: wrk sends its one static request (the URL given), this script only reports.
-- With REQ_FILE: every request comes from that file, one per line,
--   METHOD<TAB>PATH<TAB>TOKEN<TAB>BODY[<TAB>KEY]   (TOKEN "-": no Authorization header; KEY, when
--   there, is sent as the Idempotency-Key; bodies are JSON, which holds no raw tab)
-- and each of the WRK_THREADS threads sends its own share of the lines (line i goes to thread
-- i mod WRK_THREADS), in order, so no two requests are the same. When a thread runs out of lines
-- it starts over (those repeats count in `wrapped`; writes then fail as conflicts).
--
-- done() prints one machine-readable line:
--   WRK_RESULT requests=.. duration_us=.. p50_us=.. p90_us=.. p99_us=.. max_us=.. non2xx=..
--              connect=.. read=.. write=.. timeout=.. wrapped=..

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local req_file = os.getenv("REQ_FILE")

if req_file and req_file ~= "" then
  local requests = {}
  local index = 0
  wrapped = 0

  function init(args)
    local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
    local line_no = 0
    local f = assert(io.open(req_file, "r"))
    for line in f:lines() do
      if line_no % nthreads == tid then
        local method, path, token, body, key = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)\t?([^\t]*)$")
        if method then
          local headers = { ["Content-Type"] = "application/json" }
          if token ~= "-" then
            headers["Authorization"] = "Bearer " .. token
          end
          if key ~= "" then
            headers["Idempotency-Key"] = key
          end
          if body == "" then body = nil end
          requests[#requests + 1] = wrk.format(method, path, headers, body)
        end
      end
      line_no = line_no + 1
    end
    f:close()
    assert(#requests > 0, "no requests for thread " .. tid .. " in " .. req_file)
  end

  function request()
    index = index + 1
    if index > #requests then
      index = 1
      wrapped = wrapped + 1
    end
    return requests[index]
  end
end

function done(summary, latency, requests)
  local wrapped_total = 0
  for _, t in ipairs(threads) do
    wrapped_total = wrapped_total + (tonumber(t:get("wrapped")) or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d connect=%d read=%d write=%d timeout=%d wrapped=%d\n",
    summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.status, e.connect, e.read, e.write, e.timeout, wrapped_total))
end
