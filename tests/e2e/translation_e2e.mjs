// Cross-format routing with the real SDKs: the `openai` client served by an Anthropic-format
// target and `@anthropic-ai/sdk` served by an OpenAI-format target, JSON and streams, tool calls
// included; and resources/examples/fallback.json started as shipped, its OpenAI provider failing.
// Run: AIRLOCKD=… AIRLOCKCTL=… node translation_e2e.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import {
    E2E_DIR, requireNodeModules, quietModelDeprecationWarnings, startAirlockd, makeTempDir, removeDir,
    waitForLedgerIds, ledgerRequests, pollUntil,
} from './lib.mjs';
import { startFakeProvider, outputText, errorBody, promptWords } from './fake_provider.mjs';

await requireNodeModules();
quietModelDeprecationWarnings();
const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const FALLBACK_CONFIG = path.join(E2E_DIR, '..', '..', 'resources', 'examples', 'fallback.json');
const TOOL = { name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };

// A small scripted upstream: handler(req, json) -> {status, headers, body|sse:[strings]}.
async function startScripted(handler) {
    const requests = [];
    const server = http.createServer(async (req, res) => {
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const json = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : null;
        requests.push({ path: req.url, headers: req.headers, json });
        const a = handler(req, json);
        if (a.sse) {
            res.writeHead(a.status ?? 200, { 'content-type': 'text/event-stream' });
            for (const piece of a.sse) res.write(piece);
            res.end();
        } else {
            const body = JSON.stringify(a.body);
            res.writeHead(a.status ?? 200, { 'content-type': 'application/json', ...(a.headers ?? {}) });
            res.end(body);
        }
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${server.address().port}`, requests,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

const sse = (event, data) => `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

// Anthropic target that always calls get_weather(city=Paris), JSON or streamed in pieces.
function anthropicToolAnswer(req, body) {
    const usage = { input_tokens: 31, output_tokens: 17 };
    if (!body.stream) {
        return { body: { id: 'msg_tool', type: 'message', role: 'assistant', model: body.model,
            content: [{ type: 'text', text: 'Checking.' },
                { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: { city: 'Paris' } }],
            stop_reason: 'tool_use', stop_sequence: null, usage } };
    }
    return { sse: [
        sse('message_start', { type: 'message_start', message: { id: 'msg_tool', type: 'message', role: 'assistant',
            model: body.model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 31, output_tokens: 1 } } }),
        sse('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
        sse('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Checking.' } }),
        sse('content_block_stop', { type: 'content_block_stop', index: 0 }),
        sse('content_block_start', { type: 'content_block_start', index: 1,
            content_block: { type: 'tool_use', id: 'toolu_9', name: 'get_weather', input: {} } }),
        sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"ci' } }),
        sse('content_block_delta', { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'ty":"Paris"}' } }),
        sse('content_block_stop', { type: 'content_block_stop', index: 1 }),
        sse('message_delta', { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 17 } }),
        sse('message_stop', { type: 'message_stop' }),
    ] };
}

// OpenAI target that always calls get_weather(city=Oslo), JSON or streamed in pieces.
function openaiToolAnswer(req, body) {
    const usage = { prompt_tokens: 44, completion_tokens: 12, total_tokens: 56 };
    if (!body.stream) {
        return { body: { id: 'chatcmpl-tool', object: 'chat.completion', created: 1, model: body.model,
            choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null,
                tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] } }],
            usage } };
    }
    const chunk = (delta, finish = null) => ({ id: 'chatcmpl-tool', object: 'chat.completion.chunk', created: 1,
        model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] });
    const pieces = [
        sse('', chunk({ role: 'assistant', content: null })),
        sse('', chunk({ tool_calls: [{ index: 0, id: 'call_7', type: 'function', function: { name: 'get_weather', arguments: '' } }] })),
        sse('', chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] })),
        sse('', chunk({ tool_calls: [{ index: 0, function: { arguments: '"Oslo"}' } }] })),
        sse('', chunk({}, 'tool_calls')),
    ];
    if (body.stream_options?.include_usage) {
        pieces.push(sse('', { id: 'chatcmpl-tool', object: 'chat.completion.chunk', created: 1, model: body.model, choices: [], usage }));
    }
    pieces.push(sse('', '[DONE]'));
    return { sse: pieces };
}

let fake;            // fake_provider.mjs: speaks every format with predictable usage
let failingOpenAi;   // answers every request with an OpenAI-shaped 503
let anthropicTools;
let openaiTools;
let fallbackDaemon;
let routeDaemon;
const dirs = [];

before(async () => {
    fake = await startFakeProvider({ port: 0 });
    failingOpenAi = await startScripted(() => ({ status: 503, headers: { 'retry-after': '1' },
        body: errorBody('openai', 503, 'The engine is currently overloaded') }));
    anthropicTools = await startScripted(anthropicToolAnswer);
    openaiTools = await startScripted(openaiToolAnswer);

    const d1 = await makeTempDir();
    dirs.push(d1);
    fallbackDaemon = await startAirlockd({ dataDir: d1, config: FALLBACK_CONFIG,
        env: { OPENAI_URL: failingOpenAi.url, ANTHROPIC_URL: fake.url,
            OPENAI_API_KEY: 'sk-openai-test', ANTHROPIC_API_KEY: 'sk-ant-test' } });

    const d2 = await makeTempDir();
    dirs.push(d2);
    routeDaemon = await startAirlockd({ dataDir: d2, config: {
        providers: [
            { name: 'fake-openai', format: 'openai', base_url: fake.url },
            { name: 'fake-anthropic', format: 'anthropic', base_url: fake.url },
            { name: 'tools-anthropic', format: 'anthropic', base_url: anthropicTools.url },
            { name: 'tools-openai', format: 'openai', base_url: openaiTools.url },
            { name: 'fake-gemini', format: 'gemini', base_url: fake.url },
        ],
        routes: {
            'claude-via-openai': { targets: [{ provider: 'fake-openai', model: 'gpt-4o-mini' }] },
            'gpt-tools-via-anthropic': { targets: [{ provider: 'tools-anthropic', model: 'claude-haiku-4-5' }] },
            'claude-tools-via-openai': { targets: [{ provider: 'tools-openai', model: 'gpt-4o-mini' }] },
            'gpt-via-gemini': { targets: [{ provider: 'fake-gemini', model: 'gemini-2.5-flash' }] },
        },
    } });
});

after(async () => {
    await fallbackDaemon?.stop();
    await routeDaemon?.stop();
    await fake?.close();
    await failingOpenAi?.close();
    await anthropicTools?.close();
    await openaiTools?.close();
    for (const d of dirs) await removeDir(d);
});

test('fallback.json: openai SDK gets its answer from the Anthropic fallback when OpenAI fails', async () => {
    const openai = new OpenAI({ apiKey: 'sk-client', baseURL: `${fallbackDaemon.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'user', content: 'Say hello to the fallback please' }];
    const { data, response } = await openai.chat.completions.create({ model: 'gpt-4o-mini', messages }).withResponse();
    assert.equal(data.object, 'chat.completion');
    assert.equal(data.choices[0].message.content, outputText());
    assert.equal(data.choices[0].finish_reason, 'stop');
    assert.equal(response.headers.get('x-airlock-target'), 'anthropic/claude-haiku-4-5');
    assert.equal(response.headers.get('x-airlock-attempts'), '2');
    // The Anthropic provider got an Anthropic request with the injected key.
    const seen = (await (await fetch(`${fake.url}/__fake/requests`)).json()).filter((r) => r.path.startsWith('/v1/messages'));
    const last = seen[seen.length - 1];
    assert.equal(last.json.model, 'claude-haiku-4-5');
    assert.equal(last.headers['x-api-key'], 'sk-ant-test');
    assert.ok(last.headers['anthropic-version']);
    const words = promptWords(last.json);
    assert.equal(data.usage.prompt_tokens, words);
    assert.equal(data.usage.completion_tokens, 5);
    // The ledger names the serving target and has the translated usage.
    const id = response.headers.get('x-airlock-request-id');
    const [row] = await waitForLedgerIds(fallbackDaemon.dataDir, [id]);
    assert.equal(row.provider, 'anthropic');
    assert.equal(row.model, 'claude-haiku-4-5');
    assert.equal(row.input_tokens, words);
    assert.equal(row.output_tokens, 5);
    assert.ok(row.cost_usd > 0);
});

test('fallback.json: streamed answer is translated event by event with usage', async () => {
    const openai = new OpenAI({ apiKey: 'sk-client', baseURL: `${fallbackDaemon.url}/v1`, maxRetries: 0 });
    const stream = await openai.chat.completions.create({ model: 'gpt-4o-mini', stream: true,
        stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream it' }] });
    let text = '';
    let usage = null;
    let finish = null;
    for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) {
            text += c.delta?.content ?? '';
            if (c.finish_reason) finish = c.finish_reason;
        }
    }
    assert.equal(text, outputText());
    assert.equal(finish, 'stop');
    assert.ok(usage && usage.completion_tokens === 5 && usage.prompt_tokens > 0);
});

test('openai SDK tool calls from an Anthropic target (JSON)', async () => {
    const openai = new OpenAI({ apiKey: 'sk-client', baseURL: `${routeDaemon.url}/v1`, maxRetries: 0 });
    const r = await openai.chat.completions.create({ model: 'gpt-tools-via-anthropic',
        messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ type: 'function', function: TOOL }] });
    const msg = r.choices[0].message;
    assert.equal(r.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, 'Checking.');
    assert.equal(msg.tool_calls.length, 1);
    assert.equal(msg.tool_calls[0].id, 'toolu_9');
    assert.equal(msg.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { city: 'Paris' });
    assert.equal(r.usage.prompt_tokens, 31);
    const sent = anthropicTools.requests[anthropicTools.requests.length - 1].json;
    assert.equal(sent.tools[0].name, 'get_weather');
    assert.deepEqual(sent.tools[0].input_schema, TOOL.parameters);
});

test('openai SDK streamed tool call arguments from an Anthropic target', async () => {
    const openai = new OpenAI({ apiKey: 'sk-client', baseURL: `${routeDaemon.url}/v1`, maxRetries: 0 });
    const runner = openai.chat.completions.stream({ model: 'gpt-tools-via-anthropic',
        messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [{ type: 'function', function: TOOL }] });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0].message.tool_calls[0];
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    assert.equal(final.choices[0].message.content, 'Checking.');
    assert.equal(call.function.name, 'get_weather');
    assert.deepEqual(JSON.parse(call.function.arguments), { city: 'Paris' });
});

test('anthropic SDK answered by an OpenAI-format target (JSON and stream)', async () => {
    const anthropic = new Anthropic({ apiKey: 'sk-client', baseURL: routeDaemon.url, maxRetries: 0 });
    const { data: msg, response } = await anthropic.messages.create({ model: 'claude-via-openai', max_tokens: 100,
        system: 'Be brief.', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    assert.equal(msg.type, 'message');
    assert.equal(msg.content[0].text, outputText());
    assert.equal(msg.stop_reason, 'end_turn');
    assert.equal(msg.usage.output_tokens, 5);
    assert.equal(response.headers.get('x-airlock-target'), 'fake-openai/gpt-4o-mini');
    const stream = anthropic.messages.stream({ model: 'claude-via-openai', max_tokens: 100,
        messages: [{ role: 'user', content: 'stream please' }] });
    let text = '';
    stream.on('text', (t) => { text += t; });
    const final = await stream.finalMessage();
    assert.equal(text, outputText());
    assert.equal(final.stop_reason, 'end_turn');
    assert.equal(final.usage.output_tokens, 5);
    assert.ok(final.usage.input_tokens > 0);
    // The ledger has the stream's usage although the Anthropic client never asked OpenAI for it.
    const row = await pollUntil(async () => (await ledgerRequests(routeDaemon.dataDir))
        .find((r) => r.stream && r.format === 'anthropic' && r.provider === 'fake-openai'),
    { timeoutMs: 5000, what: 'the translated stream in the ledger' });
    assert.equal(row.model, 'gpt-4o-mini');
    assert.equal(row.output_tokens, 5);
    assert.equal(row.input_tokens, final.usage.input_tokens);
});

test('anthropic SDK tool use from an OpenAI-format target (JSON and stream)', async () => {
    const anthropic = new Anthropic({ apiKey: 'sk-client', baseURL: routeDaemon.url, maxRetries: 0 });
    const tools = [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters }];
    const msg = await anthropic.messages.create({ model: 'claude-tools-via-openai', max_tokens: 100, tools,
        messages: [{ role: 'user', content: 'Weather in Oslo?' }] });
    assert.equal(msg.stop_reason, 'tool_use');
    const use = msg.content.find((b) => b.type === 'tool_use');
    assert.deepEqual(use, { type: 'tool_use', id: 'call_7', name: 'get_weather', input: { city: 'Oslo' } });
    assert.equal(msg.usage.input_tokens, 44);
    const final = await anthropic.messages.stream({ model: 'claude-tools-via-openai', max_tokens: 100, tools,
        messages: [{ role: 'user', content: 'Weather in Oslo?' }] }).finalMessage();
    assert.equal(final.stop_reason, 'tool_use');
    const streamedUse = final.content.find((b) => b.type === 'tool_use');
    assert.equal(streamedUse.name, 'get_weather');
    assert.deepEqual(streamedUse.input, { city: 'Oslo' });
    assert.equal(final.usage.output_tokens, 12);
    const sent = openaiTools.requests[openaiTools.requests.length - 1].json;
    assert.equal(sent.stream_options.include_usage, true);
    assert.equal(sent.tools[0].function.name, 'get_weather');
});

test('openai SDK answered by a Gemini target (JSON and stream with usage)', async () => {
    const openai = new OpenAI({ apiKey: 'sk-client', baseURL: `${routeDaemon.url}/v1`, maxRetries: 0 });
    const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello gemini' }];
    const r = await openai.chat.completions.create({ model: 'gpt-via-gemini', messages });
    assert.equal(r.choices[0].message.content, outputText());
    assert.equal(r.choices[0].finish_reason, 'stop');
    const seen = (await (await fetch(`${fake.url}/__fake/requests`)).json())
        .filter((q) => q.path.startsWith('/v1beta/models/gemini-2.5-flash:'));
    const sent = seen[seen.length - 1];
    assert.equal(sent.path, '/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(sent.headers['x-goog-api-key'], 'sk-client');
    assert.equal(r.usage.prompt_tokens, promptWords(sent.json));
    assert.equal(r.usage.completion_tokens, 5);
    const stream = await openai.chat.completions.create({ model: 'gpt-via-gemini', stream: true,
        stream_options: { include_usage: true }, messages });
    let text = '';
    let usage = null;
    for await (const chunk of stream) {
        if (chunk.usage) usage = chunk.usage;
        for (const c of chunk.choices) text += c.delta?.content ?? '';
    }
    assert.equal(text, outputText());
    assert.equal(usage.completion_tokens, 5);
});

test('a server tool is refused in the Anthropic error shape, not dropped', async () => {
    const anthropic = new Anthropic({ apiKey: 'sk-client', baseURL: routeDaemon.url, maxRetries: 0 });
    await assert.rejects(anthropic.messages.create({ model: 'claude-via-openai', max_tokens: 100,
        tools: [{ type: 'web_search_20250305', name: 'web_search' }],
        messages: [{ role: 'user', content: 'search' }] }), (e) => {
        assert.equal(e.status, 400);
        assert.equal(e.error?.type, 'error');
        assert.match(e.error?.error?.message ?? '', /web_search_20250305/);
        return true;
    });
});
