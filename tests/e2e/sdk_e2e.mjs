// The foundation end-to-end test: real openai and @anthropic-ai/sdk clients (and fetch for
// Gemini) -> real airlockd -> fake provider; then the ledger, read back with airlockctl, must hold
// one correct row per request and the usage summary must add up.
// Run: AIRLOCKD=… AIRLOCKCTL=… node sdk_e2e.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    requireNodeModules, quietModelDeprecationWarnings, startAirlockd, makeTempDir, removeDir,
    waitForLedgerIds, ledgerRequests, ledgerUsage, pollUntil,
} from './lib.mjs';
import { startFakeProvider, outputText } from './fake_provider.mjs';

await requireNodeModules();
quietModelDeprecationWarnings();
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const APP = 'sdk_e2e';
const HELLO = outputText();
const COST_TOLERANCE_USD = 1e-9;
const LEDGER_DEADLINE_MS = 5000;

// USD per million tokens, as the brief's price table says.
const PRICES = {
    'gpt-4o-mini': { input: 0.15, output: 0.60, cached: 0.075 },
    'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.30, cacheWrite: 3.75 },
    'gemini-2.5-flash': { input: 0.30, output: 2.50 },
};

function openaiCost(model, { input, cached = 0, output }) {
    const p = PRICES[model];
    return ((input - cached) * p.input + cached * p.cached + output * p.output) / 1e6;
}
function anthropicCost(model, { uncached, cacheRead = 0, cacheWrite = 0, output }) {
    const p = PRICES[model];
    return (uncached * p.input + cacheRead * p.cacheRead + cacheWrite * p.cacheWrite + output * p.output) / 1e6;
}
function geminiCost(model, { input, output }) {
    const p = PRICES[model];
    return (input * p.input + output * p.output) / 1e6;
}

let fake;
let daemon;
let dataDir;
let openai;
let anthropic;
// x-airlock-request-id of every response the clients got, in order.
const seenIds = [];
// What the ledger must say: {id, provider, model, input, output, cost, stream}.
const expected = [];

// A fetch that remembers each response's request id, so the SDK tests can find their rows.
async function capturingFetch(url, init) {
    const response = await fetch(url, init);
    seenIds.push(response.headers.get('x-airlock-request-id'));
    return response;
}

function lastId() {
    const id = seenIds.at(-1);
    assert.ok(id, 'every response carries x-airlock-request-id');
    return id;
}

// The request the fake received for a test case (each case sends its own x-e2e-case header,
// which also checks that client headers are forwarded).
function upstreamRequest(caseName) {
    const found = fake.requests.filter((r) => r.headers['x-e2e-case'] === caseName);
    assert.equal(found.length, 1, `fake provider saw exactly one request for ${caseName}`);
    return found[0];
}

async function checkRow(exp) {
    const rows = await waitForLedgerIds(dataDir, [exp.id], { timeoutMs: LEDGER_DEADLINE_MS });
    const row = rows.find((r) => r.id === exp.id);
    const where = `ledger row ${exp.id} (${exp.provider}/${exp.model})`;
    assert.equal(row.app, APP, `${where}: app`);
    assert.equal(row.pid, process.pid, `${where}: pid`);
    assert.equal(row.provider, exp.provider, `${where}: provider`);
    assert.equal(row.model, exp.model, `${where}: model`);
    assert.equal(row.status, 200, `${where}: status`);
    assert.equal(row.outcome, 'ok', `${where}: outcome`);
    assert.equal(row.input_tokens, exp.input, `${where}: input_tokens`);
    assert.equal(row.output_tokens, exp.output, `${where}: output_tokens`);
    assert.ok(row.cost_usd > 0, `${where}: cost_usd > 0`);
    assert.ok(Math.abs(row.cost_usd - exp.cost) <= COST_TOLERANCE_USD,
        `${where}: cost_usd ${row.cost_usd} != ${exp.cost}`);
    assert.equal(typeof row.ts === 'number' || typeof row.ts === 'string', true, `${where}: ts`);
    assert.ok(row.latency_ms >= 0, `${where}: latency_ms`);
    if (exp.stream) {
        assert.ok(row.ttft_ms >= 0 && row.ttft_ms <= row.latency_ms + 1e-6,
            `${where}: 0 <= ttft_ms (${row.ttft_ms}) <= latency_ms (${row.latency_ms})`);
    }
    return row;
}

async function expectRow(exp) {
    expected.push(exp);
    return checkRow(exp);
}

before(async () => {
    fake = await startFakeProvider();
    dataDir = await makeTempDir('airlock-sdk-e2e-');
    daemon = await startAirlockd({
        dataDir,
        upstreams: { openai: fake.url, anthropic: fake.url, gemini: fake.url },
    });
    openai = new OpenAI({ apiKey: 'sk-e2e-openai', baseURL: `${daemon.url}/v1`, maxRetries: 0,
        fetch: capturingFetch });
    anthropic = new Anthropic({ apiKey: 'sk-ant-e2e', baseURL: daemon.url, maxRetries: 0,
        fetch: capturingFetch });
});

after(async () => {
    if (daemon) {
        const exit = await daemon.stop();
        if (process.env.E2E_VERBOSE) process.stderr.write(`airlockd exit ${JSON.stringify(exit)}\n`);
    }
    if (fake) await fake.close();
    if (!process.env.E2E_KEEP) await removeDir(dataDir);
});

test('openai chat non-stream passes through and is recorded with cached and reasoning tokens', async () => {
    const r = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is the capital of France' }] },
        { headers: { 'x-e2e-case': 'chat-nonstream', 'x-fake-cached': '2', 'x-fake-reasoning': '1' } });
    assert.equal(r.choices[0].message.content, HELLO);
    assert.equal(r.usage.prompt_tokens, 8);
    assert.equal(r.usage.completion_tokens, 6);

    const up = upstreamRequest('chat-nonstream');
    assert.equal(up.path, '/v1/chat/completions');
    assert.equal(up.headers.authorization, 'Bearer sk-e2e-openai', 'client key passed through');
    assert.equal(up.headers['accept-encoding'], 'identity', 'upstream Accept-Encoding forced to identity');
    assert.equal(up.json.model, 'gpt-4o-mini');
    assert.equal(up.json.stream, undefined, 'non-stream body not turned into a stream');

    await expectRow({ id: lastId(), provider: 'openai', model: 'gpt-4o-mini', input: 8, output: 6,
        cost: openaiCost('gpt-4o-mini', { input: 8, cached: 2, output: 6 }) });
});

test('openai chat stream without include_usage: client sees no usage, ledger still has it', async () => {
    const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'Count to three please' }] },
        { headers: { 'x-e2e-case': 'chat-stream-no-usage', 'x-fake-chunks': '7' } });
    let text = '';
    let chunks = 0;
    for await (const chunk of stream) {
        chunks++;
        assert.ok(!('usage' in chunk), `chunk ${chunks} has no "usage" member: ${JSON.stringify(chunk)}`);
        assert.equal(chunk.choices.length, 1, 'no usage-only chunk with "choices":[]');
        text += chunk.choices[0].delta.content ?? '';
    }
    assert.equal(text, outputText(7));
    assert.equal(chunks, 1 + 7 + 1);

    const up = upstreamRequest('chat-stream-no-usage');
    assert.equal(up.json.stream, true);
    assert.equal(up.json.stream_options?.include_usage, true, 'Airlock asks upstream for usage itself');

    await expectRow({ id: lastId(), provider: 'openai', model: 'gpt-4o-mini', input: 4, output: 7,
        cost: openaiCost('gpt-4o-mini', { input: 4, output: 7 }), stream: true });
});

test('openai chat stream with include_usage: client sees the usage chunk', async () => {
    const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
            messages: [{ role: 'user', content: 'Tell me something nice today' }] },
        { headers: { 'x-e2e-case': 'chat-stream-usage', 'x-fake-cached': '4' } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, 5 + 4);
    assert.equal(last.usage.completion_tokens, 5);
    assert.equal(last.usage.prompt_tokens_details.cached_tokens, 4);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null, 'usage:null kept when the client asked');
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), HELLO);

    assert.equal(upstreamRequest('chat-stream-usage').json.stream_options.include_usage, true);
    await expectRow({ id: lastId(), provider: 'openai', model: 'gpt-4o-mini', input: 9, output: 5,
        cost: openaiCost('gpt-4o-mini', { input: 9, cached: 4, output: 5 }), stream: true });
});

test('openai responses stream passes every event and is recorded', async () => {
    const stream = openai.responses.stream(
        { model: 'gpt-4o-mini', instructions: 'Answer briefly', input: 'Why is the sky blue' },
        { headers: { 'x-e2e-case': 'responses-stream', 'x-fake-cached': '1', 'x-fake-reasoning': '3' } });
    const types = [];
    stream.on('event', (e) => types.push(e.type));
    const final = await stream.finalResponse();
    assert.equal(final.output_text, HELLO);
    assert.equal(types[0], 'response.created');
    assert.equal(types.at(-1), 'response.completed');
    assert.equal(types.filter((t) => t === 'response.output_text.delta').length, 5);
    assert.deepEqual(final.usage, {
        input_tokens: 7 + 1, input_tokens_details: { cached_tokens: 1 },
        output_tokens: 5 + 3, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 16,
    });
    assert.equal(upstreamRequest('responses-stream').path, '/v1/responses');
    await expectRow({ id: lastId(), provider: 'openai', model: 'gpt-4o-mini', input: 8, output: 8,
        cost: openaiCost('gpt-4o-mini', { input: 8, cached: 1, output: 8 }), stream: true });
});

test('anthropic messages non-stream with cache read and write tokens', async () => {
    const m = await anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 256, system: 'You are a helpful assistant',
            messages: [{ role: 'user', content: 'Write a haiku about proxies' }] },
        { headers: { 'x-e2e-case': 'anthropic-nonstream', 'x-fake-cached': '10', 'x-fake-cache-write': '20' } });
    assert.equal(m.content[0].text, HELLO);
    assert.equal(m.usage.input_tokens, 10);
    assert.equal(m.usage.cache_read_input_tokens, 10);
    assert.equal(m.usage.cache_creation_input_tokens, 20);
    const up = upstreamRequest('anthropic-nonstream');
    assert.equal(up.path, '/v1/messages');
    assert.ok(up.headers['x-api-key'] === 'sk-ant-e2e' || up.headers.authorization === 'Bearer sk-ant-e2e',
        'client key passed through');
    assert.ok(up.headers['anthropic-version'], 'anthropic-version forwarded');
    // input_tokens in the ledger = uncached + cache read + cache write.
    await expectRow({ id: lastId(), provider: 'anthropic', model: 'claude-sonnet-4-5', input: 10 + 10 + 20,
        output: 5,
        cost: anthropicCost('claude-sonnet-4-5', { uncached: 10, cacheRead: 10, cacheWrite: 20, output: 5 }) });
});

test('anthropic messages stream: finalMessage works through Airlock and is recorded', async () => {
    const stream = anthropic.messages.stream(
        { model: 'claude-sonnet-4-5', max_tokens: 256, messages: [{ role: 'user', content: 'Stream me some words' }] },
        { headers: { 'x-e2e-case': 'anthropic-stream', 'x-fake-chunks': '9', 'x-fake-cached': '3' } });
    let text = '';
    stream.on('text', (t) => {
        text += t;
    });
    const m = await stream.finalMessage();
    assert.equal(text, outputText(9));
    assert.equal(m.usage.output_tokens, 9);
    assert.equal(m.usage.input_tokens, 4);
    assert.equal(upstreamRequest('anthropic-stream').json.stream, true);
    await expectRow({ id: lastId(), provider: 'anthropic', model: 'claude-sonnet-4-5', input: 4 + 3, output: 9,
        cost: anthropicCost('claude-sonnet-4-5', { uncached: 4, cacheRead: 3, output: 9 }), stream: true });
});

async function geminiFetch(method, caseName, extraHeaders = {}, query = '') {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Explain proxies in five words' }] }] });
    const response = await fetch(`${daemon.url}/v1beta/models/gemini-2.5-flash:${method}${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'g-e2e-key', 'x-e2e-case': caseName,
            ...extraHeaders },
        body,
    });
    const id = response.headers.get('x-airlock-request-id');
    assert.ok(id, 'every response carries x-airlock-request-id');
    seenIds.push(id);
    return { response, id };
}

test('gemini generateContent via fetch', async () => {
    const { response, id } = await geminiFetch('generateContent', 'gemini-generate');
    assert.equal(response.status, 200);
    const r = await response.json();
    assert.equal(r.candidates[0].content.parts[0].text, HELLO);
    assert.equal(r.usageMetadata.promptTokenCount, 5);
    const up = upstreamRequest('gemini-generate');
    assert.equal(up.path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(up.headers['x-goog-api-key'], 'g-e2e-key');
    await expectRow({ id, provider: 'gemini', model: 'gemini-2.5-flash', input: 5, output: 5,
        cost: geminiCost('gemini-2.5-flash', { input: 5, output: 5 }) });
});

test('gemini streamGenerateContent?alt=sse via fetch, thoughts counted as output', async () => {
    const { response, id } = await geminiFetch('streamGenerateContent', 'gemini-stream',
        { 'x-fake-chunks': '6', 'x-fake-reasoning': '2' }, '?alt=sse');
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type'), /^text\/event-stream/);
    const text = await response.text();
    const events = text.split(/\r?\n\r?\n/).filter((s) => s.trim())
        .map((block) => JSON.parse(block.replace(/^data: ?/, '')));
    assert.equal(events.length, 6);
    assert.equal(events.map((e) => e.candidates[0].content.parts[0].text).join(''), outputText(6));
    assert.equal(events.at(-1).usageMetadata.totalTokenCount, 5 + 6 + 2);
    assert.equal(upstreamRequest('gemini-stream').path,
        '/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse', 'query preserved');
    await expectRow({ id, provider: 'gemini', model: 'gemini-2.5-flash', input: 5, output: 6 + 2,
        cost: geminiCost('gemini-2.5-flash', { input: 5, output: 8 }), stream: true });
});

test('ledger has exactly one row per request, ids unique', async () => {
    assert.equal(seenIds.length, expected.length,
        'every request above registered its expected row (if not, see the earlier failure)');
    const rows = await waitForLedgerIds(dataDir, seenIds, { timeoutMs: LEDGER_DEADLINE_MS });
    const ids = rows.map((r) => r.id);
    assert.equal(new Set(ids).size, ids.length, 'ledger ids unique');
    assert.equal(new Set(seenIds).size, seenIds.length, 'response ids unique');
    assert.deepEqual([...ids].sort(), [...seenIds].sort(), 'one row per request, nothing else');
    // Newest first.
    const tsOrder = rows.map((r) => (typeof r.ts === 'number' ? r.ts : Date.parse(r.ts)));
    for (let i = 1; i < tsOrder.length; i++) assert.ok(tsOrder[i - 1] >= tsOrder[i], 'requests newest first');
    // Re-check every row now that all are written (nothing was overwritten later).
    for (const exp of expected) await checkRow(exp);
});

test('usage --json rows sum the ledger per app/provider/model', async () => {
    const want = new Map();
    for (const e of expected) {
        const key = `${APP}|${e.provider}|${e.model}`;
        const acc = want.get(key) ?? { app: APP, provider: e.provider, model: e.model, requests: 0,
            input_tokens: 0, output_tokens: 0, cost_usd: 0 };
        acc.requests++;
        acc.input_tokens += e.input;
        acc.output_tokens += e.output;
        acc.cost_usd += e.cost;
        want.set(key, acc);
    }
    const rows = await pollUntil(async () => {
        const r = await ledgerUsage(dataDir);
        const total = r.reduce((n, row) => n + row.requests, 0);
        return total === expected.length ? r : null;
    }, { timeoutMs: LEDGER_DEADLINE_MS, what: 'usage rows covering every request' });
    assert.equal(rows.length, want.size, `one usage row per app/provider/model: ${JSON.stringify(rows)}`);
    for (const row of rows) {
        const key = `${row.app}|${row.provider}|${row.model}`;
        const w = want.get(key);
        assert.ok(w, `unexpected usage row ${JSON.stringify(row)}`);
        assert.equal(row.requests, w.requests, `${key}: requests`);
        assert.equal(row.input_tokens, w.input_tokens, `${key}: input_tokens`);
        assert.equal(row.output_tokens, w.output_tokens, `${key}: output_tokens`);
        assert.ok(Math.abs(row.cost_usd - w.cost_usd) <= COST_TOLERANCE_USD,
            `${key}: cost_usd ${row.cost_usd} != ${w.cost_usd}`);
    }
    // The requests view and the usage view agree on the totals.
    const all = await ledgerRequests(dataDir);
    const sumCost = all.reduce((s, r) => s + r.cost_usd, 0);
    const usageCost = rows.reduce((s, r) => s + r.cost_usd, 0);
    assert.ok(Math.abs(sumCost - usageCost) <= COST_TOLERANCE_USD);
});
