// Shared helpers for the e2e tests: start and stop a real airlockd against the fake provider,
// run airlockctl and parse its JSON, and poll with deadlines instead of sleeping.

import { spawn, execFile } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
const HEALTHZ_DEADLINE_MS = 10000;
const STOP_GRACE_MS = 5000;
const POLL_INTERVAL_MS = 25;
const LOG_TAIL_BYTES = 64 * 1024;
const CTL_TIMEOUT_MS = 30000;
const CTL_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The SDK tests need tests/e2e/node_modules; say how to get it instead of a resolver stack trace.
export async function requireNodeModules() {
    const missing = ['openai', '@anthropic-ai/sdk']
        .filter((p) => !fs.existsSync(path.join(E2E_DIR, 'node_modules', p, 'package.json')));
    if (missing.length > 0) {
        // Synchronous write: process.exit would drop a pending write to a pipe.
        fs.writeSync(2, `e2e: missing node modules (${missing.join(', ')}): run \`npm ci\` in ${E2E_DIR} first.\n`);
        process.exit(1);
    }
}

// The Anthropic SDK console.warns on every request for a model near its end of life; the price
// table tests need exactly those models, so keep the test output readable.
export function quietModelDeprecationWarnings() {
    const warn = console.warn;
    console.warn = (...args) => {
        if (typeof args[0] === 'string' && /^The model '.*' is deprecated/.test(args[0])) return;
        warn(...args);
    };
}

function requiredExecutable(envName) {
    const p = process.env[envName];
    if (!p) {
        throw new Error(`${envName} is not set: point it at the built binary ` +
            `(e.g. ${envName}=build/app/${envName.toLowerCase()}/${envName.toLowerCase()})`);
    }
    if (!fs.existsSync(p)) throw new Error(`${envName}=${p} does not exist`);
    return p;
}

export function airlockdPath() {
    return requiredExecutable('AIRLOCKD');
}

export function airlockctlPath() {
    return requiredExecutable('AIRLOCKCTL');
}

// Polls `fn` until it returns a truthy value (returned) or the deadline passes (throws with the
// last value or error in the message).
export async function pollUntil(fn, { timeoutMs = 5000, intervalMs = POLL_INTERVAL_MS, what = 'condition' } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    let lastError;
    for (;;) {
        try {
            last = await fn();
            lastError = undefined;
            if (last) return last;
        } catch (e) {
            lastError = e;
        }
        if (Date.now() >= deadline) {
            const detail = lastError ? `last error: ${lastError.message}` : `last value: ${JSON.stringify(last)}`;
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${detail})`);
        }
        await sleep(intervalMs);
    }
}

export async function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.once('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

export async function makeTempDir(prefix = 'airlock-e2e-') {
    return fsp.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir) {
    if (dir) await fsp.rm(dir, { recursive: true, force: true });
}

// One HTTP request with node:http; resolves {status, headers, body (string)}. Never throws for
// HTTP errors; rejects on connection errors and after timeoutMs.
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs = 10000, agent = false } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', reject);
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to ${url} timed out`)));
        req.on('error', reject);
        req.end(body);
    });
}

async function writeConfig(dir, config) {
    if (config === undefined || config === null) return null;
    if (typeof config === 'string') return config;
    const file = path.join(dir, 'airlock-e2e-config.json');
    await fsp.writeFile(file, JSON.stringify(config, null, 2));
    return file;
}

// Starts airlockd: `--listen 127.0.0.1:PORT --data-dir DIR --upstream F=URL… [--config FILE]`,
// waits for GET /healthz to answer 200. opts: {dataDir, upstreams: {openai, anthropic, gemini},
// config (object or path), port, extraArgs, env}. Returns a handle with url, port, dataDir,
// stop(), kill(), exited (promise of {code, signal}) and log() (tail of stdout+stderr).
export async function startAirlockd(opts) {
    const bin = airlockdPath();
    const configFile = await writeConfig(opts.configDir ?? opts.dataDir, opts.config);
    const attempts = opts.port ? 1 : 3;
    let lastError;
    for (let attempt = 0; attempt < attempts; attempt++) {
        const port = opts.port ?? await freePort();
        const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', opts.dataDir];
        for (const [format, url] of Object.entries(opts.upstreams ?? {})) {
            if (url) args.push('--upstream', `${format}=${url}`);
        }
        if (configFile) args.push('--config', configFile);
        args.push(...(opts.extraArgs ?? []));
        const handle = launch(bin, args, port, opts);
        try {
            await handle.waitHealthy(HEALTHZ_DEADLINE_MS);
            return handle;
        } catch (e) {
            lastError = e;
            await handle.kill();
            // Another process may have taken the free port between our probe and the bind.
            if (!/exited/.test(e.message)) break;
        }
    }
    throw lastError;
}

function launch(bin, args, port, opts) {
    const child = spawn(bin, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, ...(opts.env ?? {}) },
    });
    let log = '';
    const append = (chunk) => {
        log += chunk.toString('utf8');
        if (log.length > LOG_TAIL_BYTES) log = log.slice(-LOG_TAIL_BYTES);
        if (process.env.E2E_VERBOSE) process.stderr.write(`[airlockd] ${chunk}`);
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    let exitInfo = null;
    const exited = new Promise((resolve) => {
        child.once('exit', (code, signal) => {
            exitInfo = { code, signal };
            resolve(exitInfo);
        });
        child.once('error', (err) => {
            exitInfo = { code: -1, signal: null, error: err };
            resolve(exitInfo);
        });
    });
    const url = `http://127.0.0.1:${port}`;

    async function waitExit(ms) {
        if (exitInfo) return exitInfo;
        return Promise.race([exited, sleep(ms).then(() => null)]);
    }

    const handle = {
        port,
        url,
        dataDir: opts.dataDir,
        args,
        pid: child.pid,
        process: child,
        exited,
        log: () => log,
        get exitInfo() {
            return exitInfo;
        },
        async waitHealthy(timeoutMs) {
            await pollUntil(async () => {
                if (exitInfo) {
                    throw Object.assign(new Error(`airlockd exited early (${JSON.stringify(exitInfo)})`),
                        { fatal: true });
                }
                const r = await httpRequest(`${url}/healthz`, { timeoutMs: 1000 });
                return r.status === 200;
            }, { timeoutMs, what: `airlockd /healthz on ${url}` }).catch((e) => {
                const why = exitInfo ? `airlockd exited early (${JSON.stringify(exitInfo)})` : e.message;
                throw new Error(`${why}\nargs: ${args.join(' ')}\n--- airlockd output ---\n${log}`);
            });
        },
        // SIGTERM, then SIGKILL when it has not exited within graceMs. Resolves {code, signal}.
        async stop(graceMs = STOP_GRACE_MS) {
            if (exitInfo) return exitInfo;
            child.kill('SIGTERM');
            const info = await waitExit(graceMs);
            if (info) return info;
            child.kill('SIGKILL');
            return exited;
        },
        async kill() {
            if (exitInfo) return exitInfo;
            child.kill('SIGKILL');
            return exited;
        },
    };
    return handle;
}

// Runs airlockctl with args; resolves {code, stdout, stderr}.
export function runCtlRaw(args, { timeoutMs = CTL_TIMEOUT_MS } = {}) {
    const bin = airlockctlPath();
    return new Promise((resolve) => {
        execFile(bin, args, { timeout: timeoutMs, maxBuffer: CTL_MAX_OUTPUT_BYTES },
            (error, stdout, stderr) => {
                const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
                resolve({ code, stdout, stderr, error });
            });
    });
}

// Runs airlockctl and parses its stdout as JSON; throws with the output when it fails.
export async function runCtlJson(args, opts) {
    const r = await runCtlRaw(args, opts);
    if (r.code !== 0) {
        throw new Error(`airlockctl ${args.join(' ')} exited ${r.code}: ${r.stderr}${r.stdout}`);
    }
    try {
        return JSON.parse(r.stdout);
    } catch (e) {
        throw new Error(`airlockctl ${args.join(' ')} printed invalid JSON (${e.message}): ${r.stdout.slice(0, 2000)}`);
    }
}

// The ledger rows, newest first.
export async function ledgerRequests(dataDir, limit) {
    const args = ['--data-dir', dataDir, 'requests', '--json'];
    if (limit) args.push('--limit', String(limit));
    const out = await runCtlJson(args);
    if (!out || !Array.isArray(out.requests)) {
        throw new Error(`airlockctl requests --json: no "requests" array in ${JSON.stringify(out).slice(0, 500)}`);
    }
    return out.requests;
}

export async function ledgerUsage(dataDir, extraArgs = []) {
    const out = await runCtlJson(['--data-dir', dataDir, 'usage', '--json', ...extraArgs]);
    if (!out || !Array.isArray(out.rows)) {
        throw new Error(`airlockctl usage --json: no "rows" array in ${JSON.stringify(out).slice(0, 500)}`);
    }
    return out.rows;
}

// Waits until the ledger has rows for every id in `ids` (the ledger writes asynchronously).
export async function waitForLedgerIds(dataDir, ids, { timeoutMs = 5000, limit } = {}) {
    const want = [...ids];
    let rows = [];
    await pollUntil(async () => {
        rows = await ledgerRequests(dataDir, limit);
        const have = new Set(rows.map((r) => r.id));
        return want.every((id) => have.has(id));
    }, { timeoutMs, what: `ledger rows for ${want.length} request id(s)` });
    return rows;
}

// Streams an HTTP response and splits it into SSE events ({event, data, raw}); stops at the end
// of the body or on a connection error (reported as `error`). Separators may be \n\n or \r\n\r\n.
export function parseSse(text) {
    const events = [];
    for (const block of text.split(/\r?\n\r?\n/)) {
        if (!block.trim()) continue;
        let event = null;
        const data = [];
        for (const line of block.split(/\r?\n/)) {
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        events.push({ event, data: data.join('\n'), raw: block });
    }
    return events;
}

// A request whose response is read as far as it goes: resolves {status, headers, body, error}
// where error is set when the connection broke before the response ended.
export function httpRequestPartial(url, { method = 'POST', headers = {}, body, timeoutMs = 15000 } = {}) {
    return new Promise((resolve, reject) => {
        const req = http.request(url, { method, headers, agent: false }, (res) => {
            const chunks = [];
            let settled = false;
            const finish = (error) => {
                if (settled) return;
                settled = true;
                resolve({ status: res.statusCode, headers: res.headers,
                    body: Buffer.concat(chunks).toString('utf8'), error });
            };
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => finish(null));
            res.on('error', (e) => finish(e));
            res.on('aborted', () => finish(new Error('aborted')));
            res.on('close', () => finish(res.complete ? null : new Error('closed before end')));
        });
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`request to ${url} timed out`)));
        req.on('error', reject);
        req.end(body);
    });
}

// Parses one HTTP/1.1 response from raw bytes: {status, headers (lower-case), body, complete}.
// Returns null while the head is incomplete.
export function parseRawResponse(buf) {
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return null;
    const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
    if (!m) return { status: 0, headers: {}, body: '', complete: true, malformed: true };
    const headers = {};
    for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    let rest = buf.subarray(headEnd + 4);
    let body = Buffer.alloc(0);
    let complete = false;
    if (headers['content-length'] !== undefined) {
        const len = Number.parseInt(headers['content-length'], 10);
        body = rest.subarray(0, len);
        complete = rest.length >= len;
    } else if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
        const parts = [];
        for (;;) {
            const eol = rest.indexOf('\r\n');
            if (eol < 0) break;
            const size = Number.parseInt(rest.subarray(0, eol).toString('latin1'), 16);
            if (!Number.isFinite(size)) break;
            if (size === 0) {
                complete = true;
                break;
            }
            if (rest.length < eol + 2 + size + 2) break;
            parts.push(rest.subarray(eol + 2, eol + 2 + size));
            rest = rest.subarray(eol + 2 + size + 2);
        }
        body = Buffer.concat(parts);
    } else {
        body = rest; // until close
    }
    return { status: Number(m[1]), headers, body: body.toString('utf8'), complete };
}

// Opens a raw TCP connection and writes `pieces`: an array of strings/Buffers in one write, or a
// (async) generator of them piece by piece, stopping as soon as a response byte arrives. Resolves
// when the connection closes, the response is complete (when untilComplete), or timeoutMs passes:
// {response (parseRawResponse or null), raw, closed, error, elapsedMs, writeError}.
export function rawExchange(port, pieces, { timeoutMs = 10000, untilComplete = true } = {}) {
    return new Promise((resolve) => {
        const started = Date.now();
        const socket = net.connect(port, '127.0.0.1');
        const received = [];
        let gotData = false;
        let done = false;
        let closed = false;
        let error = null;
        let writeError = null;
        const finish = () => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            const raw = Buffer.concat(received);
            socket.destroy();
            resolve({ response: parseRawResponse(raw), raw: raw.toString('latin1'), closed, error, writeError,
                elapsedMs: Date.now() - started });
        };
        const timer = setTimeout(finish, timeoutMs);
        socket.on('data', (c) => {
            gotData = true;
            received.push(c);
            if (untilComplete) {
                const r = parseRawResponse(Buffer.concat(received));
                if (r && r.complete && r.headers['content-length'] !== undefined) finish();
            }
        });
        socket.on('end', () => {
            closed = true;
            finish();
        });
        socket.on('close', () => {
            closed = true;
            finish();
        });
        socket.on('error', (e) => {
            error = e;
        });
        socket.on('connect', async () => {
            if (Array.isArray(pieces)) {
                // One write: node destroys a socket whose write fails (EPIPE once the server has
                // answered and closed), losing the unread answer; a single write hands everything
                // to libuv, which reads before it writes the rest.
                socket.write(Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))));
                return;
            }
            try {
                for await (const piece of pieces) {
                    // Let pending reads run first: a write that fails (EPIPE after the server
                    // answered and closed) destroys the socket and with it an unread answer.
                    await new Promise((r) => setImmediate(r));
                    if (gotData || done || socket.destroyed) break;
                    if (!socket.write(piece)) {
                        await new Promise((r) => {
                            socket.once('drain', r);
                            socket.once('close', r);
                        });
                    }
                }
            } catch (e) {
                writeError = e;
            }
        });
    });
}
