-- wrk script: POST a valid, unique receipt request each time (new receipt ids, so every
-- request creates a receipt rather than hitting the idempotent path).
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
local hex = "0123456789abcdef"
local function uuid4()
  local t = {}
  for i = 1, 32 do local r = math.random(16); t[i] = hex:sub(r, r) end
  t[13] = "4"
  local v = math.random(4) + 8; t[17] = hex:sub(v, v)
  local s = table.concat(t)
  return s:sub(1, 8) .. "-" .. s:sub(9, 12) .. "-" .. s:sub(13, 16) .. "-" .. s:sub(17, 20) .. "-" .. s:sub(21)
end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"receipt_id":"' .. uuid4() .. '","subject_id":"' .. uuid4() .. '",' ..
    '"config_revision":"0123456789abcdef","policy":{"id":"privacy","version":"' .. os.getenv("BENCH_VERSION") .. '"},' ..
    '"choices":{"necessary":true,"analytics":false,"advertising":false},"method":"banner","gpc":false,' ..
    '"language":"en","page":"https://legal.example/privacy/","consented_at":"' .. os.getenv("BENCH_NOW") .. '"}'
  return wrk.format(nil, "/api/v1/receipts", nil, body)
end

response = function(status, headers, body)
  if status ~= 201 then io.stderr:write("status " .. status .. ": " .. body .. "\n") end
end
