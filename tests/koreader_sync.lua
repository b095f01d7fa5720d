-- Runs KOReader's own OPDS sync code (plugins/opds.koplugin/opdsbrowser.lua:
-- fillPendingSyncs, getSyncDownloadList, downloadPendingSyncs, with
-- opdsparser.lua and frontend/util.lua, luxl.lua) headless, against a
-- catalog URL: its user interface is replaced by stubs that do nothing.
-- Usage (LuaJIT, with Debian's lua-socket and lua-filesystem):
--   luajit koreader_sync.lua KOREADER_CHECKOUT CATALOG_URL DEVICE_DIR STATE_FILE
-- STATE_FILE keeps the server's last_download between syncs, as KOReader's
-- settings do.  Prints one line per file written: "downloaded PATH".
local koreader, catalog_url, device, state_file = arg[1], arg[2], arg[3], arg[4]
package.path = koreader .. "/frontend/?.lua;" .. koreader .. "/plugins/opds.koplugin/?.lua;" .. package.path

local function stub()
    local s = {}
    return setmetatable(s, {
        __index = function() return stub() end,
        __call = function() return stub() end,
    })
end
local function noop() end
local lfs = require("lfs")
local downloaded = {}

local gettext = setmetatable({ ngettext = function(a, b, n) return n == 1 and a or b end },
                             { __call = function(_, s) return s end })
local specials = {
    ["gettext"] = gettext,
    ["logger"] = os.getenv("KO_DEBUG") and { dbg = print, info = print, warn = print, err = print }
                 or { dbg = noop, info = noop, warn = noop, err = noop },
    ["libs/libkoreader-lfs"] = lfs,
    ["cache"] = { new = function() return { check = noop, insert = noop } end },
    ["ffi/util"] = { template = function(s, ...) local a = { ... }
                         return (s:gsub("%%(%d)", function(i) return tostring(a[tonumber(i)]) end)) end,
                     orderedPairs = pairs, isAndroid = function() return false end },
    ["ffi/utf8proc"] = stub(),
    ["ffi/sha2"] = { md5 = function(s) return s end },
    ["socketutil"] = { set_timeout = noop, reset_timeout = noop, redact_request = function(r) return r end },
    ["ui/widget/menu"] = { extend = function(self, o) return setmetatable(o, { __index = self }) end, init = noop },
    ["ui/uimanager"] = { show = noop, close = noop, forceRePaint = noop, scheduleIn = noop, nextTick = noop },
    ["ui/trapper"] = { wrap = function(_, f) return f() end,
                       dismissableRunInSubprocess = function(_, f) return true, f() end },
    ["document/documentregistry"] = {
        hasProvider = function(_, name, mime)
            return (name and name:match("%.epub$")) or mime == "application/epub+zip"
                   or mime == "application/kepub+zip"
        end,
        mimeToExt = function(_, mime) return mime == "application/epub+zip" and "epub" or nil end,
    },
}
-- The stubs first; then Lua's own search (KOReader's files, Debian's
-- lua-socket and lua-filesystem); whatever is still missing is the UI: a stub.
-- Of KOReader's own modules, only the OPDS code and what it parses with runs.
local kept = { util = true, luxl = true, opdsparser = true, opdsbrowser = true }
local loaders = package.loaders or package.searchers
table.insert(loaders, 2, function(name)
    if specials[name] then return function() return specials[name] end end
    local fh = io.open(koreader .. "/frontend/" .. name .. ".lua")
    if fh then
        fh:close()
        if not kept[name] then return function() return stub() end end
    end
end)
table.insert(loaders, function() return function() return stub() end end)

local OPDSBrowser = require("opdsbrowser")
-- Record what was fetched: the plugin's downloadFile, unchanged, then a note.
local download = OPDSBrowser.downloadFile
OPDSBrowser.downloadFile = function(self, path, ...)
    local ok = download(self, path, ...)
    if ok then table.insert(downloaded, path) end
    return ok
end

local last
local fh = io.open(state_file, "r")
if fh then last = fh:read("*l"); fh:close() end
local server = { title = "digest-export", url = catalog_url, sync = true, last_download = last }
local browser = setmetatable({ settings = { sync_dir = device, sync_max_dl = 50 }, pending_syncs = {},
                               _manager = {}, servers = { server }, sync = true }, { __index = OPDSBrowser })
browser:fillPendingSyncs(server)
if #browser.pending_syncs > 0 then
    browser:downloadPendingSyncs()
end
if server.last_download then
    fh = assert(io.open(state_file, "w"))
    fh:write(server.last_download, "\n")
    fh:close()
end
for _, path in ipairs(downloaded) do
    print("downloaded " .. path)
end
