-- wrk script for bench/run.py: one fresh, correctly signed request per call, every answer checked.
--
-- Configured by environment (run.py sets it):
--   BENCH_METHOD, BENCH_PATH, BENCH_QUERY (canonical: sorted, encoded), BENCH_BODY, BENCH_HOST
--   BENCH_HEADERS     fixed headers, "name:value" lines, lower-case names
--   BENCH_SIGNER      none | huawei-aksk | wsse | acs3
--   BENCH_KEY_ID, BENCH_SECRET
--   BENCH_SEQ_BASE    first unique number of this run; "{n}" in the query or body becomes a fresh one
--                     per request (distinct contacts, so per-contact limits never answer instead)
--   BENCH_EXPECT_STATUS, BENCH_EXPECT_BODY ("" wants an empty body, other text a body containing it;
--                     unset, the body is not checked)
-- Signing uses OpenSSL's libcrypto through the FFI: Debian's wrk links it already.

local ffi = require("ffi")
ffi.cdef [[
typedef struct evp_md_st EVP_MD;
const EVP_MD *EVP_sha256(void);
unsigned char *HMAC(const EVP_MD *md, const char *key, int key_len, const char *data, size_t n,
                    unsigned char *out, unsigned int *out_len);
unsigned char *SHA256(const char *data, size_t n, unsigned char *out);
int EVP_EncodeBlock(unsigned char *out, const unsigned char *in, int n);
]]
local C = ffi.C
local digest = ffi.new("unsigned char[32]")
local encoded = ffi.new("unsigned char[48]")

local HEX = {}
for byte = 0, 255 do HEX[string.char(byte)] = string.format("%02x", byte) end

local function hex(raw) return (raw:gsub(".", HEX)) end
local function sha256(text) C.SHA256(text, #text, digest); return ffi.string(digest, 32) end
local function hmac(key, text) C.HMAC(C.EVP_sha256(), key, #key, text, #text, digest, nil); return ffi.string(digest, 32) end
local function base64(raw) return ffi.string(encoded, C.EVP_EncodeBlock(encoded, raw, #raw)) end

local env = os.getenv
local method, path, query_template = env("BENCH_METHOD"), env("BENCH_PATH"), env("BENCH_QUERY") or ""
local body_template, host = env("BENCH_BODY") or "", env("BENCH_HOST")
local signer, key_id, secret = env("BENCH_SIGNER") or "none", env("BENCH_KEY_ID"), env("BENCH_SECRET")
local expect_status, expect_body = tonumber(env("BENCH_EXPECT_STATUS")), env("BENCH_EXPECT_BODY")
local fixed_headers = {}
for name, value in (env("BENCH_HEADERS") or ""):gmatch("([^:\n]+):([^\n]*)") do fixed_headers[name] = value end

-- Each name of `headers`, sorted, as "name:value\n" lines, and the names joined by ";".
local function canonical_headers(headers)
  local names = {}
  for name in pairs(headers) do names[#names + 1] = name end
  table.sort(names)
  local lines = {}
  for i, name in ipairs(names) do lines[i] = name .. ":" .. headers[name] .. "\n" end
  return table.concat(lines), table.concat(names, ";")
end

local function with_fixed(extra)
  local headers = {host = host}
  for name, value in pairs(fixed_headers) do headers[name] = value end
  for name, value in pairs(extra) do headers[name] = value end
  return headers
end

local sign = {}

function sign.none() return with_fixed({}) end

-- Huawei SDK-HMAC-SHA256 over every header sent (huaweicloudsdkcore/signer/signer.py in
-- https://github.com/huaweicloud/huaweicloud-sdk-python-v3).
function sign.huawei_aksk(body, query)
  local date = os.date("!%Y%m%dT%H%M%SZ")
  local headers = with_fixed({["x-sdk-date"] = date})
  local lines, names = canonical_headers(headers)
  local uri = path:sub(-1) == "/" and path or path .. "/"
  local request = table.concat({method, uri, query, lines, names, hex(sha256(body))}, "\n")
  local to_sign = "SDK-HMAC-SHA256\n" .. date .. "\n" .. hex(sha256(request))
  headers["authorization"] = "SDK-HMAC-SHA256 Access=" .. key_id .. ", SignedHeaders=" .. names
    .. ", Signature=" .. hex(hmac(secret, to_sign))
  return headers
end

-- Huawei Voice Call WSSE X-AKSK, a fresh nonce each time (openapi/voice.yaml, auth.wsse).
function sign.wsse(body, query, nonce)
  local created = os.date("!%Y-%m-%dT%H:%M:%SZ")
  return with_fixed({
    ["authorization"] = 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"',
    ["x-aksk"] = 'UsernameToken Username="' .. key_id .. '",PasswordDigest="' .. base64(hmac(secret, nonce .. created))
      .. '",Nonce="' .. nonce .. '",Created="' .. created .. '"',
  })
end

-- Alibaba ACS3-HMAC-SHA256 over every header sent, a fresh nonce each time
-- (https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature).
function sign.acs3(body, query, nonce)
  local headers = with_fixed({
    ["x-acs-date"] = os.date("!%Y-%m-%dT%H:%M:%SZ"),
    ["x-acs-signature-nonce"] = nonce,
    ["x-acs-content-sha256"] = hex(sha256(body)),
  })
  local lines, names = canonical_headers(headers)
  local request = table.concat({method, path, query, lines, names, headers["x-acs-content-sha256"]}, "\n")
  headers["authorization"] = "ACS3-HMAC-SHA256 Credential=" .. key_id .. ",SignedHeaders=" .. names
    .. ",Signature=" .. hex(hmac(secret, "ACS3-HMAC-SHA256\n" .. hex(sha256(request))))
  return headers
end

local sign_request = sign[signer:gsub("-", "_")] or error("unknown BENCH_SIGNER " .. signer)

local threads = {}

function setup(thread)
  thread:set("thread_index", #threads)
  threads[#threads + 1] = thread
end

local sequence
bad, first_bad = 0, ""

function init(args)
  sequence = tonumber(env("BENCH_SEQ_BASE")) + thread_index * 1e8
end

function request()
  sequence = sequence + 1
  local n = string.format("%d", sequence)
  local body, query = body_template:gsub("{n}", n), query_template:gsub("{n}", n)
  local headers = sign_request(body, query, "n" .. n)
  local target = query == "" and path or path .. "?" .. query
  headers.Host, headers.host = headers.host, nil  -- wrk.format adds its own "Host" unless given
  return wrk.format(method, target, headers, body ~= "" and body or nil)
end

local function body_ok(body)
  if expect_body == nil then return true end
  if expect_body == "" then return body == "" end
  return body:find(expect_body, 1, true) ~= nil
end

function response(status, headers, body)
  if status ~= expect_status or not body_ok(body) then
    bad = bad + 1
    if first_bad == "" then first_bad = (status .. " " .. body:sub(1, 200)):gsub('[%c"\\]', " ") end
  end
end

function done(summary, latency, requests)
  local wrong, example = 0, ""
  for _, thread in ipairs(threads) do
    wrong = wrong + thread:get("bad")
    if example == "" then example = thread:get("first_bad") end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"wrong":%d,"socket_errors":%d,"first_wrong":"%s"}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), wrong,
    errors.connect + errors.read + errors.write + errors.timeout, example))
end
