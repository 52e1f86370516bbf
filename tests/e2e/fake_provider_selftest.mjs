// Proves the fake provider speaks the wire formats the real SDKs expect: the openai and
// @anthropic-ai/sdk clients (and plain fetch for Gemini) talk straight to it, no daemon.
// Run: node fake_provider_selftest.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireNodeModules, quietModelDeprecationWarnings } from './lib.mjs';
import { startFakeProvider, outputText, promptWords } from './fake_provider.mjs';

await requireNodeModules();
quietModelDeprecationWarnings();
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const HELLO = 'Hello from the fake provider';
let fake;
let openai;
let anthropic;

before(async () => {
    fake = await startFakeProvider();
    openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    anthropic = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.url, maxRetries: 0 });
});

after(async () => {
    await fake.close();
});

function lastRequest() {
    return fake.requests[fake.requests.length - 1];
}

test('token arithmetic helpers agree with the documented rules', () => {
    assert.equal(outputText(), HELLO);
    assert.equal(outputText(7), `${HELLO} Hello from`);
    assert.equal(promptWords({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a b  c' }] }), 3);
    assert.equal(promptWords(
        { system: 'x y', messages: [{ role: 'user', content: [{ type: 'text', text: 'z' }] }] }), 3);
    assert.equal(promptWords({ contents: [{ role: 'user', parts: [{ text: 'one two' }] }] }), 2);
    assert.equal(promptWords({ model: 'm' }), 1);
});

test('openai chat non-stream parses with predicted usage', async () => {
    const r = await openai.chat.completions.create(
        { model: 'gpt-4o-mini',
            messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'say hello now' }] },
        { headers: { 'x-fake-cached': '2', 'x-fake-reasoning': '3' } });
    assert.match(r.id, /^chatcmpl-/);
    assert.equal(r.object, 'chat.completion');
    assert.ok(Number.isInteger(r.created));
    assert.equal(r.model, 'gpt-4o-mini');
    assert.equal(r.choices[0].message.content, HELLO);
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.deepEqual(
        [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens,
            r.usage.prompt_tokens_details.cached_tokens, r.usage.completion_tokens_details.reasoning_tokens],
        [5 + 2, 5 + 3, 15, 2, 3]);
    const rec = lastRequest();
    assert.equal(rec.method, 'POST');
    assert.equal(rec.path, '/v1/chat/completions');
    assert.equal(rec.headers.authorization, 'Bearer sk-test');
    assert.equal(rec.json.model, 'gpt-4o-mini');
});

test('openai chat max_tokens truncates with finish_reason length', async () => {
    const r = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0].message.content, 'Hello from');
    assert.equal(r.choices[0].finish_reason, 'length');
    assert.equal(r.usage.completion_tokens, 2);
});

test('openai chat stream without include_usage has no usage anywhere', async () => {
    const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'one two three' }] },
        { headers: { 'x-fake-chunks': '8' } });
    let text = '';
    let n = 0;
    let finish = null;
    for await (const chunk of stream) {
        n++;
        assert.equal(chunk.object, 'chat.completion.chunk');
        assert.ok(!('usage' in chunk), 'no usage member without include_usage');
        assert.equal(chunk.choices.length, 1);
        text += chunk.choices[0].delta.content ?? '';
        finish = chunk.choices[0].finish_reason ?? finish;
    }
    assert.equal(text, outputText(8));
    assert.equal(n, 1 + 8 + 1);
    assert.equal(finish, 'stop');
});

test('openai chat stream with include_usage ends with a usage chunk', async () => {
    const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true },
            messages: [{ role: 'user', content: 'one two three' }] },
        { headers: { 'x-fake-cached': '1' } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, 4);
    assert.equal(last.usage.completion_tokens, 5);
    assert.equal(last.usage.prompt_tokens_details.cached_tokens, 1);
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    assert.equal(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join(''), HELLO);
});

test('openai chat stream helper assembles the final completion', async () => {
    const runner = openai.chat.completions.stream(
        { model: 'gpt-4o-mini', stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] });
    const final = await runner.finalChatCompletion();
    assert.equal(final.choices[0].message.content, HELLO);
    assert.equal(final.usage.total_tokens, 6);
});

test('openai completions non-stream and stream parse', async () => {
    const r = await openai.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'once upon a time' });
    assert.equal(r.object, 'text_completion');
    assert.equal(r.choices[0].text, HELLO);
    assert.equal(r.usage.prompt_tokens, 4);
    const stream = await openai.completions.create(
        { model: 'gpt-3.5-turbo-instruct', prompt: 'x', stream: true, stream_options: { include_usage: true } });
    let text = '';
    let usage = null;
    for await (const c of stream) {
        text += c.choices[0]?.text ?? '';
        usage = c.usage ?? usage;
    }
    assert.equal(text, HELLO);
    assert.equal(usage.completion_tokens, 5);
});

test('openai responses non-stream parses with predicted usage', async () => {
    const r = await openai.responses.create(
        { model: 'gpt-4o-mini', instructions: 'be nice', input: 'tell me a joke' },
        { headers: { 'x-fake-cached': '3', 'x-fake-reasoning': '4' } });
    assert.match(r.id, /^resp_/);
    assert.equal(r.object, 'response');
    assert.equal(r.status, 'completed');
    assert.equal(r.output_text, HELLO);
    assert.deepEqual(r.usage, {
        input_tokens: 6 + 3,
        input_tokens_details: { cached_tokens: 3 },
        output_tokens: 5 + 4,
        output_tokens_details: { reasoning_tokens: 4 },
        total_tokens: 9 + 9,
    });
});

test('openai responses raw stream has the full event sequence with sequence numbers', async () => {
    const stream = await openai.responses.create(
        { model: 'gpt-4o-mini', input: [{ role: 'user', content: 'a b' }], stream: true },
        { headers: { 'x-fake-chunks': '3' } });
    const events = [];
    for await (const e of stream) events.push(e);
    assert.deepEqual(events.map((e) => e.type), [
        'response.created', 'response.in_progress', 'response.output_item.added',
        'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
        'response.output_text.delta', 'response.output_text.done', 'response.content_part.done',
        'response.output_item.done', 'response.completed']);
    events.forEach((e, i) => assert.equal(e.sequence_number, i));
    const done = events.at(-1).response;
    assert.equal(done.usage.input_tokens, 2);
    assert.equal(done.usage.output_tokens, 3);
    assert.equal(done.output[0].content[0].text, 'Hello from the');
});

test('openai responses stream helper yields the final response', async () => {
    const stream = openai.responses.stream({ model: 'gpt-4o-mini', input: 'hello there' });
    let deltas = '';
    stream.on('response.output_text.delta', (e) => {
        deltas += e.delta;
    });
    const final = await stream.finalResponse();
    assert.equal(deltas, HELLO);
    assert.equal(final.output_text, HELLO);
    assert.equal(final.usage.total_tokens, 7);
});

test('openai embeddings parse as base64 (SDK default) and as floats', async () => {
    const r = await openai.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'] });
    assert.equal(r.object, 'list');
    assert.equal(r.data.length, 2);
    assert.equal(lastRequest().json.encoding_format, 'base64');
    assert.equal(r.data[0].embedding.length, 8);
    assert.ok(Math.abs(r.data[0].embedding[0] - Math.sin(1) / 2) < 1e-6);
    assert.equal(r.usage.prompt_tokens, 3);
    const f = await openai.embeddings.create(
        { model: 'text-embedding-3-small', input: 'x', encoding_format: 'float', dimensions: 4 });
    assert.equal(f.data[0].embedding.length, 4);
    assert.ok(Math.abs(f.data[0].embedding[1] - Math.sin(2) / 2) < 1e-6);
});

test('openai models list parses', async () => {
    const page = await openai.models.list();
    const ids = page.data.map((m) => m.id);
    assert.ok(ids.includes('gpt-4o-mini'));
});

test('openai errors parse: 429 with retry-after, 401 for a bad key', async () => {
    await assert.rejects(
        openai.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
            { headers: { 'x-fake-fault': 'status:429' } }),
        (err) => {
            assert.ok(err instanceof OpenAI.RateLimitError);
            assert.equal(err.status, 429);
            assert.equal(err.code, 'rate_limit_exceeded');
            assert.equal(err.headers.get('retry-after'), '1');
            return true;
        });
    const bad = new OpenAI({ apiKey: 'invalid', baseURL: `${fake.url}/v1`, maxRetries: 0 });
    await assert.rejects(bad.models.list(), (err) => err instanceof OpenAI.AuthenticationError);
});

test('openai stream error event and connection reset surface as SDK errors', async () => {
    const stream = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-fake-fault': 'error-mid-stream' } });
    let text = '';
    await assert.rejects((async () => {
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })(), (err) => err instanceof OpenAI.APIError && /server had an error/.test(err.message));
    assert.equal(text, 'Hello from');

    const reset = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-fake-fault': 'reset-mid-stream' } });
    text = '';
    await assert.rejects((async () => {
        for await (const c of reset) text += c.choices[0]?.delta?.content ?? '';
    })());
    assert.equal(text, 'Hello from');
});

test('anthropic messages non-stream parses with predicted usage', async () => {
    const m = await anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 100, system: 'you are terse',
            messages: [{ role: 'user', content: 'hello claude' }] },
        { headers: { 'x-fake-cached': '10', 'x-fake-cache-write': '20' } });
    assert.match(m.id, /^msg_/);
    assert.equal(m.type, 'message');
    assert.equal(m.role, 'assistant');
    assert.equal(m.content[0].type, 'text');
    assert.equal(m.content[0].text, HELLO);
    assert.equal(m.stop_reason, 'end_turn');
    assert.equal(m.usage.input_tokens, 5);
    assert.equal(m.usage.cache_read_input_tokens, 10);
    assert.equal(m.usage.cache_creation_input_tokens, 20);
    assert.equal(m.usage.output_tokens, 5);
    const rec = lastRequest();
    // SDK 1.x sends the key as a bearer token; older ones as x-api-key. The fake takes both.
    assert.ok(rec.headers['x-api-key'] === 'sk-ant-test' || rec.headers.authorization === 'Bearer sk-ant-test');
    assert.ok(rec.headers['anthropic-version']);
});

test('anthropic messages.stream().finalMessage() accumulates text and usage', async () => {
    const stream = anthropic.messages.stream(
        { model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'a b c' }] },
        { headers: { 'x-fake-chunks': '6', 'x-fake-cached': '4' } });
    let text = '';
    stream.on('text', (t) => {
        text += t;
    });
    const m = await stream.finalMessage();
    assert.equal(text, outputText(6));
    assert.equal(m.content[0].text, outputText(6));
    assert.equal(m.usage.input_tokens, 3);
    assert.equal(m.usage.cache_read_input_tokens, 4);
    assert.equal(m.usage.output_tokens, 6);
    assert.equal(m.stop_reason, 'end_turn');
});

test('anthropic raw stream:true yields the documented event sequence', async () => {
    const stream = await anthropic.messages.create(
        { model: 'claude-sonnet-4-5', max_tokens: 2, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const types = [];
    let start;
    let delta;
    for await (const e of stream) {
        types.push(e.type);
        if (e.type === 'message_start') start = e;
        if (e.type === 'message_delta') delta = e;
    }
    // The SDK swallows `ping`; max_tokens 2 cuts the text at two deltas.
    assert.deepEqual(types, ['message_start', 'content_block_start', 'content_block_delta',
        'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    assert.equal(start.message.usage.output_tokens, 1);
    assert.equal(delta.delta.stop_reason, 'max_tokens');
    assert.equal(delta.usage.output_tokens, 2);
});

test('anthropic bearer auth and count_tokens', async () => {
    const bearer = new Anthropic({ authToken: 'oauth-token', apiKey: null, baseURL: fake.url, maxRetries: 0 });
    const r = await bearer.messages.countTokens(
        { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'count these four words' }] });
    assert.deepEqual(r, { input_tokens: 4 });
    const rec = lastRequest();
    assert.equal(rec.path, '/v1/messages/count_tokens');
    assert.equal(rec.headers.authorization, 'Bearer oauth-token');
});

test('anthropic errors parse: 529 overloaded, in-stream error event', async () => {
    await assert.rejects(
        anthropic.messages.create({ model: 'claude-sonnet-4-5', max_tokens: 10,
            messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-fake-fault': 'status:529' } }),
        (err) => {
            assert.ok(err instanceof Anthropic.APIError);
            assert.equal(err.status, 529);
            assert.equal(err.error.error.type, 'overloaded_error');
            return true;
        });
    const stream = anthropic.messages.stream(
        { model: 'claude-sonnet-4-5', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-fake-fault': 'error-mid-stream' } });
    await assert.rejects(stream.finalMessage(), (err) => err instanceof Anthropic.APIError &&
        /Overloaded/.test(err.message));
});

async function readSse(response, separator) {
    const text = await response.text();
    return text.split(separator).filter((s) => s.trim()).map((block) => {
        assert.ok(block.startsWith('data: '), `SSE block: ${block}`);
        return JSON.parse(block.slice('data: '.length));
    });
}

test('gemini generateContent, streamGenerateContent (sse and array) and countTokens', async () => {
    const base = `${fake.url}/v1beta/models/gemini-2.5-flash`;
    const headers = { 'content-type': 'application/json', 'x-goog-api-key': 'g-key', 'x-fake-reasoning': '2' };
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'three little words' }] }] });

    const r = await (await fetch(`${base}:generateContent`, { method: 'POST', headers, body })).json();
    assert.equal(r.candidates[0].content.parts[0].text, HELLO);
    assert.equal(r.candidates[0].finishReason, 'STOP');
    assert.deepEqual([r.usageMetadata.promptTokenCount, r.usageMetadata.candidatesTokenCount,
        r.usageMetadata.thoughtsTokenCount, r.usageMetadata.totalTokenCount], [3, 5, 2, 10]);

    const sseResp = await fetch(`${base}:streamGenerateContent?alt=sse`, { method: 'POST', headers, body });
    assert.match(sseResp.headers.get('content-type'), /^text\/event-stream/);
    const chunks = await readSse(sseResp, '\r\n\r\n');
    assert.equal(chunks.length, 5);
    assert.equal(chunks.map((c) => c.candidates[0].content.parts[0].text).join(''), HELLO);
    assert.equal(chunks.at(-1).candidates[0].finishReason, 'STOP');
    assert.equal(chunks.at(-1).usageMetadata.totalTokenCount, 10);
    assert.equal(chunks[0].usageMetadata.promptTokenCount, 3);

    const arr = await (await fetch(`${base}:streamGenerateContent`, { method: 'POST', headers, body })).json();
    assert.ok(Array.isArray(arr));
    assert.equal(arr.length, 5);
    assert.equal(arr.at(-1).usageMetadata.candidatesTokenCount, 5);

    const ct = await (await fetch(`${base}:countTokens`, { method: 'POST', headers, body })).json();
    assert.equal(ct.totalTokens, 3);

    const err = await fetch(`${base}:generateContent`,
        { method: 'POST', headers: { ...headers, 'x-fake-fault': 'status:429' }, body });
    assert.equal(err.status, 429);
    assert.deepEqual((await err.json()).error.status, 'RESOURCE_EXHAUSTED');
});

test('fault knobs: reset-before-head, slow-first-byte, chunk delay, hang, request log endpoint', async () => {
    await assert.rejects(fetch(`${fake.url}/v1/models`,
        { headers: { authorization: 'Bearer k', 'x-fake-fault': 'reset-before-head' } }));

    let t0 = Date.now();
    const slow = await fetch(`${fake.url}/v1/models`,
        { headers: { authorization: 'Bearer k', 'x-fake-fault': 'slow-first-byte:300' } });
    assert.equal(slow.status, 200);
    assert.ok(Date.now() - t0 >= 290);

    t0 = Date.now();
    const paced = await openai.chat.completions.create(
        { model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'x' }] },
        { headers: { 'x-fake-chunk-delay-ms': '60', 'x-fake-chunks': '3' } });
    for await (const c of paced) void c;
    assert.ok(Date.now() - t0 >= 5 * 60 - 10, 'six events paced 60 ms apart');

    const ac = new AbortController();
    const hung = fetch(`${fake.url}/v1/models`,
        { headers: { authorization: 'Bearer k', 'x-fake-fault': 'hang' }, signal: ac.signal });
    const outcome = await Promise.race([hung.then(() => 'answered', () => 'failed'),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300))]);
    assert.equal(outcome, 'still waiting');
    ac.abort();
    await hung.catch(() => {});

    const log = await (await fetch(`${fake.url}/__fake/requests`)).json();
    assert.equal(log.length, fake.requests.length);
    assert.ok(log.some((r) => r.path === '/v1/models'));
    const cleared = await (await fetch(`${fake.url}/__fake/requests`, { method: 'DELETE' })).json();
    assert.ok(cleared.cleared > 0);
    assert.equal(fake.requests.length, 0);
});

test('malformed JSON gets each provider\'s 400 shape', async () => {
    const o = await fetch(`${fake.url}/v1/chat/completions`,
        { method: 'POST', headers: { authorization: 'Bearer k' }, body: '{"model":' });
    assert.equal(o.status, 400);
    assert.equal((await o.json()).error.type, 'invalid_request_error');
    const a = await fetch(`${fake.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'k' }, body: '{' });
    assert.equal(a.status, 400);
    const ab = await a.json();
    assert.equal(ab.type, 'error');
    assert.equal(ab.error.type, 'invalid_request_error');
});
