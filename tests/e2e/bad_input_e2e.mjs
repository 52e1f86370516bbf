// Hostile and broken input against the real airlockd, with raw node:net / node:http clients:
// malformed JSON, oversized bodies and heads, slow-loris, upstream failures mid-stream, unknown
// paths. Each answer must be in the caller's own error format, and the daemon must keep serving.
// Run: AIRLOCKD=… AIRLOCKCTL=… node bad_input_e2e.mjs

import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import {
    startAirlockd, makeTempDir, removeDir, httpRequest, httpRequestPartial, rawExchange, parseSse,
    waitForLedgerIds, pollUntil, ledgerRequests,
} from './lib.mjs';
import { startFakeProvider, outputText } from './fake_provider.mjs';

const MAX_BODY_BYTES = 65536;
const HEADER_TIMEOUT_MS = 1000;
const HEAD_FLOOD_BYTES = 256 * 1024;
const HELLO = outputText();

let fake;
let daemon;
let dataDir;

before(async () => {
    fake = await startFakeProvider();
    dataDir = await makeTempDir('airlock-bad-input-e2e-');
    daemon = await startAirlockd({
        dataDir,
        upstreams: { openai: fake.url, anthropic: fake.url, gemini: fake.url },
        config: { limits: { max_body_bytes: MAX_BODY_BYTES, header_timeout_ms: HEADER_TIMEOUT_MS } },
    });
});

after(async () => {
    if (daemon) await daemon.stop();
    if (fake) await fake.close();
    if (!process.env.E2E_KEEP) await removeDir(dataDir);
});

const OPENAI_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bad-input' };
const ANTHROPIC_HEADERS = { 'content-type': 'application/json', 'x-api-key': 'sk-ant-bad-input',
    'anthropic-version': '2023-06-01' };

function chatBody(extra = {}) {
    return JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still there?' }], ...extra });
}

// After every case: the daemon still answers a normal request correctly.
let normalRequests = 0;
afterEach(async () => {
    assert.equal(daemon.exitInfo, null, `airlockd is still running\n${daemon.log()}`);
    const r = await httpRequest(`${daemon.url}/v1/chat/completions`,
        { method: 'POST', headers: OPENAI_HEADERS, body: chatBody() });
    assert.equal(r.status, 200, `normal request after the case: ${r.status} ${r.body}`);
    assert.equal(JSON.parse(r.body).choices[0].message.content, HELLO);
    normalRequests++;
});

function assertOpenAIError(r, status) {
    assert.equal(r.status, status, `status (body: ${r.body})`);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const body = JSON.parse(r.body);
    assert.equal(typeof body.error, 'object', `OpenAI error shape: ${r.body}`);
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    assert.equal(typeof body.error.type, 'string');
    return body;
}

function assertAnthropicError(r, status) {
    assert.equal(r.status, status, `status (body: ${r.body})`);
    assert.match(r.headers['content-type'] ?? '', /application\/json/);
    const body = JSON.parse(r.body);
    assert.equal(body.type, 'error', `Anthropic error shape: ${r.body}`);
    assert.equal(typeof body.error.type, 'string');
    assert.equal(typeof body.error.message, 'string');
    assert.ok(body.error.message.length > 0);
    return body;
}

test('malformed JSON to /v1/chat/completions answers 400 in OpenAI format', async () => {
    const r = await httpRequest(`${daemon.url}/v1/chat/completions`,
        { method: 'POST', headers: OPENAI_HEADERS, body: '{"model": "gpt-4o-mini", "messages": [' });
    const body = assertOpenAIError(r, 400);
    assert.equal(body.error.type, 'invalid_request_error');
});

test('malformed JSON to /v1/messages answers 400 in Anthropic format', async () => {
    const r = await httpRequest(`${daemon.url}/v1/messages`,
        { method: 'POST', headers: ANTHROPIC_HEADERS, body: '{"model": "claude-sonnet-4-5", "max_tokens": 5,,}' });
    const body = assertAnthropicError(r, 400);
    assert.equal(body.error.type, 'invalid_request_error');
});

function* sizedBody(total, pieceBytes = 8192) {
    for (let sent = 0; sent < total; sent += pieceBytes) yield Buffer.alloc(Math.min(pieceBytes, total - sent), 0x61);
}

test('body over max_body_bytes (Content-Length) answers 413 in the caller\'s format', async () => {
    const size = MAX_BODY_BYTES + 4096;
    const openaiHead = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n' +
        `Authorization: Bearer sk-bad-input\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const o = await rawExchange(daemon.port, [openaiHead, ...sizedBody(size)]);
    assert.ok(o.response, `a response arrived (error: ${o.error?.message})`);
    assertOpenAIError(o.response, 413);

    const anthropicHead = 'POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: sk-ant-bad-input\r\n' +
        `anthropic-version: 2023-06-01\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`;
    const a = await rawExchange(daemon.port, [anthropicHead, ...sizedBody(size)]);
    assert.ok(a.response, `a response arrived (error: ${a.error?.message})`);
    assertAnthropicError(a.response, 413);
});

test('chunked body growing past max_body_bytes answers 413', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-bad-input\r\n' +
        'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n';
    function* chunks() {
        yield head;
        for (let sent = 0; sent < MAX_BODY_BYTES * 2; sent += 4096) yield `1000\r\n${'b'.repeat(4096)}\r\n`;
        yield '0\r\n\r\n';
    }
    const r = await rawExchange(daemon.port, [...chunks()]);
    assert.ok(r.response, `a response arrived (error: ${r.error?.message})`);
    assertOpenAIError(r.response, 413);
});

test('header flood (thousands of headers) answers 431', async () => {
    function* flood() {
        yield 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n';
        const line = (i) => `X-Flood-${i}: ${'v'.repeat(20)}\r\n`;
        let batch = '';
        let bytes = 0;
        for (let i = 0; bytes < HEAD_FLOOD_BYTES; i++) {
            const l = line(i);
            batch += l;
            bytes += l.length;
            if (batch.length >= 4096) {
                yield batch;
                batch = '';
            }
        }
        yield `${batch}\r\n`;
    }
    const r = await rawExchange(daemon.port, [...flood()]);
    assert.ok(r.response, `a response arrived (error: ${r.error?.message}, raw: ${r.raw.slice(0, 200)})`);
    assert.equal(r.response.status, 431);
});

test('one 100 KB header line answers 431', async () => {
    const head = 'GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer sk-bad-input\r\n' +
        `X-Huge: ${'h'.repeat(100 * 1024)}\r\n\r\n`;
    const pieces = [];
    for (let i = 0; i < head.length; i += 4096) pieces.push(head.slice(i, i + 4096));
    const r = await rawExchange(daemon.port, pieces);
    assert.ok(r.response, `a response arrived (error: ${r.error?.message})`);
    assert.equal(r.response.status, 431);
});

test('slow-loris: half a head then silence is closed with 408 after header_timeout_ms', async () => {
    const r = await rawExchange(daemon.port,
        ['POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty'],
        { timeoutMs: HEADER_TIMEOUT_MS + 9000, untilComplete: false });
    assert.ok(r.closed, `the daemon closed the connection (waited ${r.elapsedMs} ms)`);
    assert.ok(r.response, `a 408 arrived before the close (raw: ${JSON.stringify(r.raw.slice(0, 200))})`);
    assert.equal(r.response.status, 408);
    assert.ok(r.elapsedMs >= HEADER_TIMEOUT_MS * 0.9, `not before the timeout (${r.elapsedMs} ms)`);
    assert.ok(r.elapsedMs <= HEADER_TIMEOUT_MS + 4000, `soon after the timeout (${r.elapsedMs} ms)`);
});

test('slow-loris trickle (one byte every 200 ms) is cut off by header_timeout_ms too', async () => {
    const head = 'POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n';
    async function* trickle() {
        for (const ch of head) {
            yield ch;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }
    const r = await rawExchange(daemon.port, trickle(), { timeoutMs: HEADER_TIMEOUT_MS + 9000, untilComplete: false });
    assert.ok(r.closed, `the daemon closed the connection (waited ${r.elapsedMs} ms)`);
    assert.ok(r.elapsedMs <= HEADER_TIMEOUT_MS + 4000, `total head time is bounded (${r.elapsedMs} ms)`);
    assert.ok(r.response && r.response.status === 408, `408 (raw: ${JSON.stringify(r.raw.slice(0, 200))})`);
});

async function ledgerRow(id) {
    const rows = await waitForLedgerIds(dataDir, [id], { timeoutMs: 5000 });
    return rows.find((row) => row.id === id);
}

test('upstream reset mid-stream (OpenAI): first events, then an error event; ledger says upstream_reset', async () => {
    const r = await httpRequestPartial(`${daemon.url}/v1/chat/completions`, {
        headers: { ...OPENAI_HEADERS, 'x-fake-fault': 'reset-mid-stream' },
        body: chatBody({ stream: true }),
    });
    assert.equal(r.status, 200);
    const id = r.headers['x-airlock-request-id'];
    assert.ok(id, 'x-airlock-request-id');
    const events = parseSse(r.body);
    const errorAt = events.findIndex((e) => e.data !== '[DONE]' && JSON.parse(e.data).error);
    assert.ok(errorAt > 0, `an error event after the first events: ${r.body}`);
    const before = events.slice(0, errorAt).map((e) => JSON.parse(e.data));
    assert.equal(before.map((c) => c.choices?.[0]?.delta?.content ?? '').join(''), 'Hello from',
        'the client got the events sent before the reset');
    const err = JSON.parse(events[errorAt].data).error;
    assert.equal(typeof err.message, 'string');
    assert.ok(!events.slice(errorAt).some((e) => e.data === '[DONE]'), 'no [DONE] after a broken stream');
    const row = await ledgerRow(id);
    assert.equal(row.outcome, 'upstream_reset');
});

test('upstream reset mid-stream (Anthropic): first events, then event: error; ledger says upstream_reset', async () => {
    const r = await httpRequestPartial(`${daemon.url}/v1/messages`, {
        headers: { ...ANTHROPIC_HEADERS, 'x-fake-fault': 'reset-mid-stream' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 64, stream: true,
            messages: [{ role: 'user', content: 'hello' }] }),
    });
    assert.equal(r.status, 200);
    const id = r.headers['x-airlock-request-id'];
    assert.ok(id, 'x-airlock-request-id');
    const events = parseSse(r.body);
    const names = events.map((e) => e.event);
    const errorAt = names.indexOf('error');
    assert.ok(errorAt > 0, `an error event after the first events: ${names.join(',')}`);
    assert.deepEqual(names.slice(0, errorAt),
        ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta']);
    const err = JSON.parse(events[errorAt].data);
    assert.equal(err.type, 'error');
    assert.equal(typeof err.error.type, 'string');
    assert.equal(typeof err.error.message, 'string');
    assert.ok(!names.includes('message_stop'), 'no message_stop after a broken stream');
    const row = await ledgerRow(id);
    assert.equal(row.outcome, 'upstream_reset');
});

test('upstream reset before the head answers a 5xx in the caller\'s format', async () => {
    const r = await httpRequest(`${daemon.url}/v1/chat/completions`, {
        method: 'POST', headers: { ...OPENAI_HEADERS, 'x-fake-fault': 'reset-before-head' }, body: chatBody(),
    });
    assert.ok(r.status >= 500 && r.status <= 599, `5xx, got ${r.status}`);
    assertOpenAIError(r, r.status);
});

test('upstream 429 passes through with retry-after and the provider\'s body', async () => {
    const r = await httpRequest(`${daemon.url}/v1/messages`, {
        method: 'POST', headers: { ...ANTHROPIC_HEADERS, 'x-fake-fault': 'status:429', 'x-fake-retry-after': '7' },
        body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 8, messages: [{ role: 'user', content: 'x' }] }),
    });
    const body = assertAnthropicError(r, 429);
    assert.equal(body.error.type, 'rate_limit_error');
    assert.equal(r.headers['retry-after'], '7');
    const row = await ledgerRow(r.headers['x-airlock-request-id']);
    assert.equal(row.status, 429);
    assert.notEqual(row.outcome, 'ok');
});

test('unknown path /v1/nope answers 404 in OpenAI format', async () => {
    const r = await httpRequest(`${daemon.url}/v1/nope`, { method: 'POST', headers: OPENAI_HEADERS, body: '{}' });
    assertOpenAIError(r, 404);
    const g = await httpRequest(`${daemon.url}/v1/nope`, { headers: { authorization: 'Bearer sk-bad-input' } });
    assertOpenAIError(g, 404);
});

test('garbage instead of an HTTP request line is refused and the connection closed', async () => {
    const r = await rawExchange(daemon.port, ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n'],
        { timeoutMs: 5000, untilComplete: false });
    assert.ok(r.closed, 'connection closed');
    if (r.response && !r.response.malformed) assert.ok(r.response.status >= 400 && r.response.status < 500);
});

test('the normal requests between the cases were recorded, each once', async () => {
    const casesBefore = normalRequests;
    assert.ok(casesBefore >= 10, `afterEach ran after each earlier case (${casesBefore})`);
    const rows = await pollUntil(async () => {
        const all = await ledgerRequests(dataDir);
        return all.filter((row) => row.outcome === 'ok' && row.model === 'gpt-4o-mini').length >= casesBefore
            ? all : null;
    }, { timeoutMs: 5000, what: 'ok rows in the ledger' });
    const ids = rows.map((row) => row.id);
    assert.equal(new Set(ids).size, ids.length, 'ledger ids unique');
});
