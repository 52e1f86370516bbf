// Fake AI provider for Airlock's end-to-end tests: speaks the OpenAI, Anthropic and Gemini wire
// formats (JSON and streaming) with deterministic usage, plus per-request fault injection.
// Dependency-free (node:http only) so it runs anywhere node 20 does.
//
// Run:    node fake_provider.mjs [--port 0] [--host 127.0.0.1]   -> prints {"port":N} when ready
// Import: const fake = await startFakeProvider({port: 0}); fake.url; fake.requests; await fake.close();
//
// Token arithmetic (so tests can predict every number):
//   W = words of the prompt: whitespace-separated words of every string found under a key named
//       content / text / input / prompt / system / instructions (anywhere in the JSON body, arrays
//       included; a number under such a key counts as one token), at least 1.
//   C = cached prompt tokens, from request header `x-fake-cached: N` (default 0).
//   K = cache-write tokens (Anthropic only), from `x-fake-cache-write: N` (default 0).
//   R = reasoning tokens, from `x-fake-reasoning: N` (default 0).
//   D = number of text deltas: `x-fake-chunks: N` (default 5), capped by the request's
//       max_tokens / max_completion_tokens / max_output_tokens / maxOutputTokens.
//   Output text: the words of "Hello from the fake provider" (repeated as needed), D of them;
//   delta i is the i-th word, preceded by a space after the first.
//   OpenAI chat/completions: prompt_tokens = W + C, cached_tokens = C,
//                            completion_tokens = D + R, reasoning_tokens = R.
//   OpenAI responses:        input_tokens = W + C, cached_tokens = C, output_tokens = D + R.
//   OpenAI embeddings:       prompt_tokens = total_tokens = W.
//   Anthropic messages:      input_tokens = W (uncached, as Anthropic reports it),
//                            cache_read_input_tokens = C, cache_creation_input_tokens = K,
//                            output_tokens = D + R (message_start says 1, message_delta the total).
//   Gemini:                  promptTokenCount = W + C, cachedContentTokenCount = C (when > 0),
//                            candidatesTokenCount = D, thoughtsTokenCount = R (when > 0),
//                            totalTokenCount = W + C + D + R.
//   count_tokens / countTokens: W.
//
// Fault knobs (request headers, so each test asks per request):
//   x-fake-fault: comma-separated list of
//     status:<code>      answer <code> with that provider's own error body (429/503/529 carry
//                        retry-after; override with x-fake-retry-after: S)
//     reset-mid-stream   send the head and the first events (through the 2nd text delta; half
//                        the body of a JSON answer), then reset the TCP connection (RST)
//     close-mid-stream   the same but close cleanly (FIN) without ending the chunked body
//     error-mid-stream   after the same events, send the provider's in-stream error event, end
//     reset-before-head  reset the connection without sending anything
//     hang               never answer
//     slow-first-byte:<ms>  wait that long before sending the head
//   x-fake-chunk-delay-ms: N  pause between SSE events (and Gemini array elements)
//   x-fake-chunks: N          number of text deltas
//   x-fake-chunked: 1         send JSON answers with chunked transfer encoding
//   An API key equal to "invalid" answers 401; a missing key answers 401 (opts.requireAuth).
//
// Every request (except /__fake/*) is recorded as {method, path, headers, rawHeaders, body, json,
// receivedAtMs}: `GET /__fake/requests` returns them, `DELETE /__fake/requests` clears them.

import http from 'node:http';
import crypto from 'node:crypto';
import { pathToFileURL } from 'node:url';

export const OUTPUT_WORDS = ['Hello', 'from', 'the', 'fake', 'provider'];
export const DEFAULT_CHUNKS = OUTPUT_WORDS.length;
const TEXT_KEYS = new Set(['content', 'text', 'input', 'prompt', 'system', 'instructions']);
const MAX_RECORDED_REQUESTS = 20000;
const MAX_CHUNKS = 10000;
const RESET_DELAY_MS = 50; // lets the peer read what was sent before the RST discards its buffers

// ---------------------------------------------------------------------------------------------
// Deterministic token arithmetic

function countWordsIn(value, key) {
    if (typeof value === 'string') {
        return TEXT_KEYS.has(key) ? value.split(/\s+/).filter(Boolean).length : 0;
    }
    if (typeof value === 'number') return TEXT_KEYS.has(key) ? 1 : 0;
    if (Array.isArray(value)) return value.reduce((n, v) => n + countWordsIn(v, key), 0);
    if (value && typeof value === 'object') {
        let n = 0;
        for (const [k, v] of Object.entries(value)) n += countWordsIn(v, k);
        return n;
    }
    return 0;
}

// W: the prompt word count of a parsed request body (see the header comment).
export function promptWords(body) {
    return Math.max(1, countWordsIn(body, ''));
}

// The text deltas for D chunks.
export function outputDeltas(count) {
    const deltas = [];
    for (let i = 0; i < count; i++) {
        deltas.push((i === 0 ? '' : ' ') + OUTPUT_WORDS[i % OUTPUT_WORDS.length]);
    }
    return deltas;
}

export function outputText(count = DEFAULT_CHUNKS) {
    return outputDeltas(count).join('');
}

function intHeader(headers, name, fallback) {
    const v = headers[name];
    if (v === undefined) return fallback;
    const n = Number.parseInt(String(v), 10);
    return Number.isFinite(n) && n >= 0 ? n : fallback;
}

function usagePlan(req, body, maxTokens) {
    const requested = Math.min(intHeader(req.headers, 'x-fake-chunks', DEFAULT_CHUNKS), MAX_CHUNKS);
    let chunks = requested;
    let truncated = false;
    if (Number.isInteger(maxTokens) && maxTokens >= 0 && maxTokens < requested) {
        chunks = maxTokens;
        truncated = true;
    }
    return {
        words: promptWords(body),
        cached: intHeader(req.headers, 'x-fake-cached', 0),
        cacheWrite: intHeader(req.headers, 'x-fake-cache-write', 0),
        reasoning: intHeader(req.headers, 'x-fake-reasoning', 0),
        chunks,
        truncated,
        deltas: outputDeltas(chunks),
    };
}

// ---------------------------------------------------------------------------------------------
// Ids and small helpers

const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomBase62(n) {
    const bytes = crypto.randomBytes(n);
    let s = '';
    for (let i = 0; i < n; i++) s += BASE62[bytes[i] % 62];
    return s;
}
const randomHex = (bytes) => crypto.randomBytes(bytes).toString('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function parseFaults(headers) {
    const faults = {
        status: 0,
        resetMidStream: false,
        closeMidStream: false,
        errorMidStream: false,
        resetBeforeHead: false,
        hang: false,
        slowFirstByteMs: 0,
    };
    const raw = headers['x-fake-fault'];
    if (!raw) return faults;
    for (const item of String(raw).split(',')) {
        const [name, arg] = item.trim().split(':');
        switch (name) {
            case 'status':
                faults.status = Number.parseInt(arg, 10) || 500;
                break;
            case 'reset-mid-stream':
                faults.resetMidStream = true;
                break;
            case 'close-mid-stream':
                faults.closeMidStream = true;
                break;
            case 'error-mid-stream':
                faults.errorMidStream = true;
                break;
            case 'reset-before-head':
                faults.resetBeforeHead = true;
                break;
            case 'hang':
                faults.hang = true;
                break;
            case 'slow-first-byte':
                faults.slowFirstByteMs = Number.parseInt(arg, 10) || 0;
                break;
            default:
                break;
        }
    }
    return faults;
}

function apiKeyOf(provider, req, url) {
    const h = req.headers;
    const bearer = /^Bearer\s+(.+)$/i.exec(h.authorization || '');
    if (provider === 'anthropic') return h['x-api-key'] || (bearer && bearer[1]) || '';
    if (provider === 'gemini') {
        return h['x-goog-api-key'] || url.searchParams.get('key') || (bearer && bearer[1]) || '';
    }
    return (bearer && bearer[1]) || h['api-key'] || '';
}

// ---------------------------------------------------------------------------------------------
// Error bodies, each in its provider's own shape

const OPENAI_ERRORS = {
    400: ['invalid_request_error', null, 'Invalid request.'],
    401: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
    403: ['invalid_request_error', 'unsupported_country_region_territory',
        'Country, region, or territory not supported.'],
    404: ['invalid_request_error', 'model_not_found', 'The model does not exist or you do not have access to it.'],
    409: ['invalid_request_error', null, 'Conflict.'],
    413: ['invalid_request_error', null, 'Request too large.'],
    429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again in 1s.'],
    500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
    502: ['server_error', null, 'Bad gateway.'],
    503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
    504: ['server_error', null, 'Gateway timeout.'],
};
const ANTHROPIC_ERRORS = {
    400: ['invalid_request_error', 'Invalid request.'],
    401: ['authentication_error', 'invalid x-api-key'],
    403: ['permission_error', 'Your API key does not have permission to use the specified resource.'],
    404: ['not_found_error', 'The requested resource could not be found.'],
    413: ['request_too_large', 'Request exceeds the maximum allowed number of bytes.'],
    429: ['rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit.'],
    500: ['api_error', 'Internal server error'],
    504: ['timeout_error', 'Request timed out'],
    529: ['overloaded_error', 'Overloaded'],
};
const GEMINI_STATUS = {
    400: 'INVALID_ARGUMENT',
    401: 'UNAUTHENTICATED',
    403: 'PERMISSION_DENIED',
    404: 'NOT_FOUND',
    409: 'ABORTED',
    413: 'INVALID_ARGUMENT',
    429: 'RESOURCE_EXHAUSTED',
    499: 'CANCELLED',
    500: 'INTERNAL',
    501: 'UNIMPLEMENTED',
    503: 'UNAVAILABLE',
    504: 'DEADLINE_EXCEEDED',
};

export function errorBody(provider, status, message) {
    if (provider === 'anthropic') {
        const [type, msg] = ANTHROPIC_ERRORS[status] ||
            (status >= 500 ? ['api_error', 'Internal server error'] : ['invalid_request_error', 'Invalid request.']);
        return {
            type: 'error',
            error: { type, message: message || msg },
            request_id: `req_011${randomBase62(21)}`,
        };
    }
    if (provider === 'gemini') {
        const st = GEMINI_STATUS[status] || (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
        return { error: { code: status, message: message || `Fake provider error ${status}.`, status: st } };
    }
    const [type, code, msg] = OPENAI_ERRORS[status] ||
        (status >= 500 ? ['server_error', null, 'Server error.'] : ['invalid_request_error', null, 'Invalid request.']);
    return { error: { message: message || msg, type, param: null, code } };
}

function providerHeaders(provider) {
    if (provider === 'anthropic') return { 'request-id': `req_011${randomBase62(21)}` };
    if (provider === 'gemini') return { 'x-goog-fake': '1' };
    return { 'x-request-id': `req_${randomHex(16)}`, 'openai-processing-ms': '1', 'openai-version': '2020-10-01' };
}

function errorAnswer(provider, status, req, message, openaiCode) {
    const headers = {};
    if (status === 429 || status === 503 || status === 529) {
        headers['retry-after'] = String(req ? intHeader(req.headers, 'x-fake-retry-after', 1) : 1);
    }
    const json = errorBody(provider, status, message);
    if (provider === 'openai' && openaiCode !== undefined) json.error.code = openaiCode;
    return { status, headers, json };
}

// ---------------------------------------------------------------------------------------------
// Routing

function routeOf(method, pathname) {
    if (method === 'POST') {
        switch (pathname) {
            case '/v1/chat/completions': return { provider: 'openai', kind: 'chat' };
            case '/v1/completions': return { provider: 'openai', kind: 'completions' };
            case '/v1/responses': return { provider: 'openai', kind: 'responses' };
            case '/v1/embeddings': return { provider: 'openai', kind: 'embeddings' };
            case '/v1/messages': return { provider: 'anthropic', kind: 'messages' };
            case '/v1/messages/count_tokens': return { provider: 'anthropic', kind: 'count_tokens' };
            default: break;
        }
        const m = /^\/v1(?:beta)?\/models\/([^/:]+):(generateContent|streamGenerateContent|countTokens)$/
            .exec(pathname);
        if (m) return { provider: 'gemini', kind: m[2], model: decodeURIComponent(m[1]) };
    }
    if (method === 'GET' && pathname === '/v1/models') return { provider: 'openai', kind: 'models' };
    return null;
}

function guessProvider(pathname) {
    if (pathname.startsWith('/v1beta/')) return 'gemini';
    if (pathname.startsWith('/v1/messages')) return 'anthropic';
    return 'openai';
}

// ---------------------------------------------------------------------------------------------
// Answers. Each returns {status, headers, json} or {status, headers, contentType, pieces, cutAt,
// errorPiece}: pieces are written in order (paced); cutAt is how many pieces a mid-stream fault
// lets through; errorPiece is the provider's in-stream error event.

const sse = (obj) => `data: ${JSON.stringify(obj)}\n\n`;
const sseNamed = (type, obj) => `event: ${type}\ndata: ${JSON.stringify(obj)}\n\n`;
const SSE_TYPE = 'text/event-stream; charset=utf-8';

// Pieces up to and including the 2nd text delta (or the 1st when there is only one).
function cutAfterDeltas(deltaPieceIndexes, fallback) {
    if (deltaPieceIndexes.length === 0) return fallback;
    return deltaPieceIndexes[Math.min(1, deltaPieceIndexes.length - 1)] + 1;
}

function openaiUsage(plan) {
    const prompt = plan.words + plan.cached;
    const completion = plan.chunks + plan.reasoning;
    return {
        prompt_tokens: prompt,
        completion_tokens: completion,
        total_tokens: prompt + completion,
        prompt_tokens_details: { cached_tokens: plan.cached, audio_tokens: 0 },
        completion_tokens_details: {
            reasoning_tokens: plan.reasoning,
            audio_tokens: 0,
            accepted_prediction_tokens: 0,
            rejected_prediction_tokens: 0,
        },
    };
}

function openaiStreamError() {
    return sse({
        error: {
            message: 'The server had an error while processing your request. Sorry about that!',
            type: 'server_error',
            param: null,
            code: null,
        },
    });
}

function chatAnswer(req, body) {
    const plan = usagePlan(req, body, body.max_completion_tokens ?? body.max_tokens);
    const id = `chatcmpl-${randomBase62(29)}`;
    const created = nowSeconds();
    const model = String(body.model ?? '');
    const fingerprint = 'fp_fake0001';
    const finish = plan.truncated ? 'length' : 'stop';
    const text = plan.deltas.join('');
    if (body.stream !== true) {
        return {
            status: 200,
            headers: {},
            json: {
                id,
                object: 'chat.completion',
                created,
                model,
                choices: [{
                    index: 0,
                    message: { role: 'assistant', content: text, refusal: null, annotations: [] },
                    logprobs: null,
                    finish_reason: finish,
                }],
                usage: openaiUsage(plan),
                service_tier: 'default',
                system_fingerprint: fingerprint,
            },
        };
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices, extra = {}) => {
        const c = { id, object: 'chat.completion.chunk', created, model, service_tier: 'default',
            system_fingerprint: fingerprint, choices };
        if (includeUsage) c.usage = null;
        return sse(Object.assign(c, extra));
    };
    const pieces = [chunk([{ index: 0, delta: { role: 'assistant', content: '', refusal: null },
        logprobs: null, finish_reason: null }])];
    const deltaIdx = [];
    for (const d of plan.deltas) {
        deltaIdx.push(pieces.length);
        pieces.push(chunk([{ index: 0, delta: { content: d }, logprobs: null, finish_reason: null }]));
    }
    pieces.push(chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: finish }]));
    if (includeUsage) pieces.push(chunk([], { usage: openaiUsage(plan) }));
    pieces.push('data: [DONE]\n\n');
    return { status: 200, headers: {}, contentType: SSE_TYPE, pieces,
        cutAt: cutAfterDeltas(deltaIdx, 1), errorPiece: openaiStreamError() };
}

function completionsAnswer(req, body) {
    const plan = usagePlan(req, body, body.max_tokens);
    const id = `cmpl-${randomBase62(29)}`;
    const created = nowSeconds();
    const model = String(body.model ?? '');
    const finish = plan.truncated ? 'length' : 'stop';
    const usage = () => {
        const u = openaiUsage(plan);
        return { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens,
            total_tokens: u.total_tokens };
    };
    if (body.stream !== true) {
        return {
            status: 200,
            headers: {},
            json: {
                id, object: 'text_completion', created, model,
                choices: [{ text: plan.deltas.join(''), index: 0, logprobs: null, finish_reason: finish }],
                usage: usage(),
            },
        };
    }
    const includeUsage = body.stream_options?.include_usage === true;
    const chunk = (choices, extra = {}) => {
        const c = { id, object: 'text_completion', created, choices, model };
        if (includeUsage) c.usage = null;
        return sse(Object.assign(c, extra));
    };
    const pieces = [];
    const deltaIdx = [];
    plan.deltas.forEach((d, i) => {
        deltaIdx.push(pieces.length);
        const last = i === plan.deltas.length - 1;
        pieces.push(chunk([{ text: d, index: 0, logprobs: null, finish_reason: last ? finish : null }]));
    });
    if (plan.deltas.length === 0) {
        pieces.push(chunk([{ text: '', index: 0, logprobs: null, finish_reason: finish }]));
    }
    if (includeUsage) pieces.push(chunk([], { usage: usage() }));
    pieces.push('data: [DONE]\n\n');
    return { status: 200, headers: {}, contentType: SSE_TYPE, pieces,
        cutAt: cutAfterDeltas(deltaIdx, 1), errorPiece: openaiStreamError() };
}

function responsesAnswer(req, body) {
    const plan = usagePlan(req, body, body.max_output_tokens);
    const id = `resp_${randomHex(24)}`;
    const itemId = `msg_${randomHex(24)}`;
    const createdAt = nowSeconds();
    const text = plan.deltas.join('');
    const usage = {
        input_tokens: plan.words + plan.cached,
        input_tokens_details: { cached_tokens: plan.cached },
        output_tokens: plan.chunks + plan.reasoning,
        output_tokens_details: { reasoning_tokens: plan.reasoning },
        total_tokens: plan.words + plan.cached + plan.chunks + plan.reasoning,
    };
    const finalStatus = plan.truncated ? 'incomplete' : 'completed';
    const response = (status, output, u) => ({
        id,
        object: 'response',
        created_at: createdAt,
        status,
        background: false,
        error: null,
        incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
        instructions: body.instructions ?? null,
        max_output_tokens: body.max_output_tokens ?? null,
        model: String(body.model ?? ''),
        output,
        parallel_tool_calls: true,
        previous_response_id: body.previous_response_id ?? null,
        reasoning: { effort: null, summary: null },
        service_tier: 'default',
        store: body.store ?? true,
        temperature: body.temperature ?? 1.0,
        text: { format: { type: 'text' }, verbosity: 'medium' },
        tool_choice: 'auto',
        tools: [],
        top_p: body.top_p ?? 1.0,
        truncation: 'disabled',
        usage: u,
        user: null,
        metadata: {},
    });
    const part = (t) => ({ type: 'output_text', annotations: [], logprobs: [], text: t });
    const item = (status, content) => ({ id: itemId, type: 'message', status, content, role: 'assistant' });
    const doneItem = item(plan.truncated ? 'incomplete' : 'completed', [part(text)]);
    if (body.stream !== true) {
        return { status: 200, headers: {}, json: response(finalStatus, [doneItem], usage) };
    }
    let seq = 0;
    const ev = (type, fields) => sseNamed(type, { type, sequence_number: seq++, ...fields });
    const pieces = [
        ev('response.created', { response: response('in_progress', [], null) }),
        ev('response.in_progress', { response: response('in_progress', [], null) }),
        ev('response.output_item.added', { output_index: 0, item: item('in_progress', []) }),
        ev('response.content_part.added', { item_id: itemId, output_index: 0, content_index: 0, part: part('') }),
    ];
    const deltaIdx = [];
    for (const d of plan.deltas) {
        deltaIdx.push(pieces.length);
        pieces.push(ev('response.output_text.delta',
            { item_id: itemId, output_index: 0, content_index: 0, delta: d, logprobs: [] }));
    }
    pieces.push(ev('response.output_text.done',
        { item_id: itemId, output_index: 0, content_index: 0, text, logprobs: [] }));
    pieces.push(ev('response.content_part.done',
        { item_id: itemId, output_index: 0, content_index: 0, part: part(text) }));
    pieces.push(ev('response.output_item.done', { output_index: 0, item: doneItem }));
    const cutAt = cutAfterDeltas(deltaIdx, 4);
    const errorPiece = sseNamed('error', { type: 'error', sequence_number: cutAt, code: 'server_error',
        message: 'The server had an error while processing your request.', param: null });
    pieces.push(ev(plan.truncated ? 'response.incomplete' : 'response.completed',
        { response: response(finalStatus, [doneItem], usage) }));
    return { status: 200, headers: {}, contentType: SSE_TYPE, pieces, cutAt, errorPiece };
}

function embeddingsAnswer(req, body) {
    const inputs = Array.isArray(body.input) && !body.input.every((x) => typeof x === 'number')
        ? body.input : [body.input];
    const dims = Number.isInteger(body.dimensions) && body.dimensions > 0 && body.dimensions <= 4096
        ? body.dimensions : 8;
    const base64 = body.encoding_format === 'base64';
    const data = inputs.map((_, index) => {
        const vec = Array.from({ length: dims }, (__, j) => Math.fround(Math.sin(index + j + 1) / 2));
        let embedding = vec;
        if (base64) {
            const buf = Buffer.alloc(dims * 4);
            vec.forEach((v, j) => buf.writeFloatLE(v, j * 4));
            embedding = buf.toString('base64');
        }
        return { object: 'embedding', index, embedding };
    });
    const words = promptWords(body);
    return {
        status: 200,
        headers: {},
        json: { object: 'list', data, model: String(body.model ?? ''),
            usage: { prompt_tokens: words, total_tokens: words } },
    };
}

function modelsAnswer() {
    const created = 1721172741;
    const data = ['gpt-4o-mini', 'gpt-4o', 'gpt-4.1-mini', 'o4-mini', 'text-embedding-3-small']
        .map((id) => ({ id, object: 'model', created, owned_by: 'system' }));
    return { status: 200, headers: {}, json: { object: 'list', data } };
}

function anthropicAnswer(req, body) {
    const plan = usagePlan(req, body, body.max_tokens);
    const id = `msg_01${randomBase62(22)}`;
    const model = String(body.model ?? '');
    const stopReason = plan.truncated ? 'max_tokens' : 'end_turn';
    const usage = (outputTokens) => ({
        input_tokens: plan.words,
        cache_creation_input_tokens: plan.cacheWrite,
        cache_read_input_tokens: plan.cached,
        cache_creation: { ephemeral_5m_input_tokens: plan.cacheWrite, ephemeral_1h_input_tokens: 0 },
        output_tokens: outputTokens,
        service_tier: 'standard',
    });
    const outputTokens = plan.chunks + plan.reasoning;
    const text = plan.deltas.join('');
    if (body.stream !== true) {
        return {
            status: 200,
            headers: {},
            json: {
                id, type: 'message', role: 'assistant', model,
                content: [{ type: 'text', text }],
                stop_reason: stopReason,
                stop_sequence: null,
                usage: usage(outputTokens),
            },
        };
    }
    const pieces = [
        sseNamed('message_start', { type: 'message_start', message: {
            id, type: 'message', role: 'assistant', model, content: [],
            stop_reason: null, stop_sequence: null, usage: usage(1) } }),
        sseNamed('content_block_start', { type: 'content_block_start', index: 0,
            content_block: { type: 'text', text: '' } }),
        sseNamed('ping', { type: 'ping' }),
    ];
    const deltaIdx = [];
    for (const d of plan.deltas) {
        deltaIdx.push(pieces.length);
        pieces.push(sseNamed('content_block_delta', { type: 'content_block_delta', index: 0,
            delta: { type: 'text_delta', text: d } }));
    }
    pieces.push(sseNamed('content_block_stop', { type: 'content_block_stop', index: 0 }));
    pieces.push(sseNamed('message_delta', { type: 'message_delta',
        delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: outputTokens } }));
    pieces.push(sseNamed('message_stop', { type: 'message_stop' }));
    return { status: 200, headers: {}, contentType: SSE_TYPE, pieces,
        cutAt: cutAfterDeltas(deltaIdx, 3),
        errorPiece: sseNamed('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' },
            request_id: `req_011${randomBase62(21)}` }) };
}

function anthropicCountTokensAnswer(req, body) {
    return { status: 200, headers: {}, json: { input_tokens: promptWords(body) } };
}

function geminiMaxTokens(body) {
    return body.generationConfig?.maxOutputTokens ?? body.generation_config?.max_output_tokens;
}

// Structured output: a request with a response schema (Gemini CLI's routing classifier asks for
// one) gets the smallest JSON value that satisfies it, as one text part.
function valueForSchema(schema) {
    if (!schema || typeof schema !== 'object') return null;
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
    const type = String(schema.type ?? '').toLowerCase();
    if (type === 'object' || schema.properties) {
        const out = {};
        for (const [k, v] of Object.entries(schema.properties ?? {})) out[k] = valueForSchema(v);
        return out;
    }
    if (type === 'array') return [];
    if (type === 'integer' || type === 'number') return schema.minimum ?? 1;
    if (type === 'boolean') return false;
    return 'fake';
}

function geminiAnswer(req, body, route, url) {
    const plan = usagePlan(req, body, geminiMaxTokens(body));
    const schema = body.generationConfig?.responseJsonSchema ?? body.generationConfig?.responseSchema;
    if (schema) plan.deltas = [JSON.stringify(valueForSchema(schema))];
    const modelVersion = route.model;
    const responseId = randomBase62(22);
    const finishReason = plan.truncated ? 'MAX_TOKENS' : 'STOP';
    const prompt = plan.words + plan.cached;
    const promptUsage = () => {
        const u = { promptTokenCount: prompt, totalTokenCount: prompt,
            promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }] };
        if (plan.cached > 0) {
            u.cachedContentTokenCount = plan.cached;
            u.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: plan.cached }];
        }
        return u;
    };
    const fullUsage = () => {
        const u = promptUsage();
        u.candidatesTokenCount = plan.chunks;
        if (plan.reasoning > 0) u.thoughtsTokenCount = plan.reasoning;
        u.totalTokenCount = prompt + plan.chunks + plan.reasoning;
        return u;
    };
    const candidate = (text, finish) => {
        const c = { content: { parts: [{ text }], role: 'model' } };
        if (finish) c.finishReason = finish;
        c.index = 0;
        return c;
    };
    if (route.kind === 'generateContent') {
        return {
            status: 200,
            headers: {},
            json: { candidates: [candidate(plan.deltas.join(''), finishReason)], usageMetadata: fullUsage(),
                modelVersion, responseId },
        };
    }
    // streamGenerateContent: one GenerateContentResponse per delta; the last carries finishReason
    // and the complete usage, earlier ones the prompt usage only (as Gemini does).
    const chunks = [];
    const n = Math.max(plan.deltas.length, 1);
    for (let i = 0; i < n; i++) {
        const last = i === n - 1;
        chunks.push({ candidates: [candidate(plan.deltas[i] ?? '', last ? finishReason : undefined)],
            usageMetadata: last ? fullUsage() : promptUsage(), modelVersion, responseId });
    }
    const cutAt = Math.min(2, n);
    const err = { error: { code: 500, message: 'An internal error has occurred.', status: 'INTERNAL' } };
    if (url.searchParams.get('alt') === 'sse') {
        return { status: 200, headers: {}, contentType: 'text/event-stream',
            pieces: chunks.map((c) => `data: ${JSON.stringify(c)}\r\n\r\n`), cutAt,
            errorPiece: `data: ${JSON.stringify(err)}\r\n\r\n` };
    }
    // Without alt=sse: one JSON array, pretty-printed, streamed element by element.
    const pieces = chunks.map((c, i) => (i === 0 ? '[' : '\n,\r\n') + JSON.stringify(c, null, 2));
    pieces.push('\n]');
    return { status: 200, headers: {}, contentType: 'application/json; charset=UTF-8', pieces, cutAt,
        errorPiece: `\n,\r\n${JSON.stringify(err, null, 2)}\n]` };
}

function geminiCountTokensAnswer(req, body) {
    const w = promptWords(body);
    return { status: 200, headers: {},
        json: { totalTokens: w, promptTokensDetails: [{ modality: 'TEXT', tokenCount: w }] } };
}

function answerFor(route, req, body, url) {
    switch (route.kind) {
        case 'chat': return chatAnswer(req, body);
        case 'completions': return completionsAnswer(req, body);
        case 'responses': return responsesAnswer(req, body);
        case 'embeddings': return embeddingsAnswer(req, body);
        case 'models': return modelsAnswer();
        case 'messages': return anthropicAnswer(req, body);
        case 'count_tokens': return anthropicCountTokensAnswer(req, body);
        case 'countTokens': return geminiCountTokensAnswer(req, body);
        default: return geminiAnswer(req, body, route, url);
    }
}

// ---------------------------------------------------------------------------------------------
// Writing answers, with pacing and faults

function resetSocket(socket) {
    if (socket.destroyed) return;
    if (typeof socket.resetAndDestroy === 'function') socket.resetAndDestroy();
    else socket.destroy();
}

function writeAsync(res, data) {
    return new Promise((resolve) => {
        if (res.destroyed) {
            resolve(false);
            return;
        }
        res.write(data, () => resolve(true));
    });
}

async function breakConnection(res, faults) {
    // Make sure what was written has reached the kernel and the peer had a moment to read it,
    // so the peer sees "some events, then the connection broke" rather than nothing.
    await writeAsync(res, '');
    await sleep(RESET_DELAY_MS);
    if (faults.resetMidStream) resetSocket(res.socket);
    else res.socket?.destroy();
}

async function sendAnswer(res, req, provider, answer, faults) {
    const headers = { ...providerHeaders(provider), ...answer.headers };
    const delayMs = intHeader(req.headers, 'x-fake-chunk-delay-ms', 0);
    const midStreamFault = faults.resetMidStream || faults.closeMidStream;
    if (answer.pieces) {
        res.writeHead(answer.status, { ...headers, 'content-type': answer.contentType,
            'cache-control': 'no-cache' });
        res.flushHeaders();
        const limit = midStreamFault || faults.errorMidStream
            ? Math.min(answer.cutAt, answer.pieces.length) : answer.pieces.length;
        for (let i = 0; i < limit; i++) {
            if (i > 0 && delayMs > 0) await sleep(delayMs);
            if (!(await writeAsync(res, answer.pieces[i]))) return;
        }
        if (midStreamFault) {
            await breakConnection(res, faults);
            return;
        }
        if (faults.errorMidStream) await writeAsync(res, answer.errorPiece);
        res.end();
        return;
    }
    const payload = Buffer.from(JSON.stringify(answer.json));
    const chunked = req.headers['x-fake-chunked'] === '1';
    const head = { ...headers, 'content-type': 'application/json' };
    if (!chunked) head['content-length'] = String(payload.length);
    res.writeHead(answer.status, head);
    if (midStreamFault) {
        await writeAsync(res, payload.subarray(0, Math.floor(payload.length / 2)));
        await breakConnection(res, faults);
        return;
    }
    res.end(payload);
}

function sendJson(res, status, obj, extraHeaders = {}) {
    const payload = Buffer.from(JSON.stringify(obj));
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(payload.length),
        ...extraHeaders });
    res.end(payload);
}

// ---------------------------------------------------------------------------------------------
// The server

export async function startFakeProvider(opts = {}) {
    const host = opts.host ?? '127.0.0.1';
    const requireAuth = opts.requireAuth ?? true;
    const maxRecorded = opts.maxRecorded ?? MAX_RECORDED_REQUESTS;
    const requests = [];
    const hanging = new Set();

    const record = (entry) => {
        requests.push(entry);
        if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    };

    async function handle(req, res) {
        const url = new URL(req.url, 'http://fake.invalid');
        const chunks = [];
        for await (const c of req) chunks.push(c);
        const raw = Buffer.concat(chunks);

        if (url.pathname === '/__fake/requests') {
            if (req.method === 'GET') return sendJson(res, 200, requests);
            if (req.method === 'DELETE') {
                const cleared = requests.length;
                requests.length = 0;
                return sendJson(res, 200, { cleared });
            }
            return sendJson(res, 405, { error: 'method not allowed' });
        }

        const bodyText = raw.toString('utf8');
        let json = null;
        let jsonError = null;
        if (raw.length > 0) {
            try {
                json = JSON.parse(bodyText);
            } catch (e) {
                jsonError = e;
            }
        }
        record({ method: req.method, path: req.url, headers: { ...req.headers }, rawHeaders: [...req.rawHeaders],
            body: bodyText, json, receivedAtMs: Date.now() });

        const faults = parseFaults(req.headers);
        if (faults.resetBeforeHead) {
            resetSocket(req.socket);
            return undefined;
        }
        if (faults.hang) {
            hanging.add(res);
            res.on('close', () => hanging.delete(res));
            return undefined;
        }
        if (faults.slowFirstByteMs > 0) await sleep(faults.slowFirstByteMs);
        if (res.destroyed) return undefined;

        const route = routeOf(req.method, url.pathname);
        if (!route) {
            const provider = guessProvider(url.pathname);
            const message = provider === 'openai'
                ? `Invalid URL (${req.method} ${url.pathname})` : `Not found: ${req.method} ${url.pathname}`;
            return sendAnswer(res, req, provider, errorAnswer(provider, 404, req, message, null), faults);
        }
        const { provider } = route;
        if (requireAuth) {
            const key = apiKeyOf(provider, req, url);
            if (!key || key === 'invalid') {
                return sendAnswer(res, req, provider, errorAnswer(provider, 401, req), faults);
            }
        }
        if (faults.status) {
            return sendAnswer(res, req, provider, errorAnswer(provider, faults.status, req), faults);
        }
        if (req.method === 'POST' && (jsonError || json === null || typeof json !== 'object' || Array.isArray(json))) {
            const message = jsonError ? `We could not parse the JSON body of your request. (${jsonError.message})`
                : 'The request body must be a JSON object.';
            return sendAnswer(res, req, provider, errorAnswer(provider, 400, req, message, null), faults);
        }
        return sendAnswer(res, req, provider, answerFor(route, req, json ?? {}, url), faults);
    }

    const server = http.createServer((req, res) => {
        handle(req, res).catch((err) => {
            if (!res.headersSent) sendJson(res, 500, { error: { message: String(err), type: 'server_error' } });
            else res.destroy();
        });
    });
    // Providers keep idle connections far longer than node's 5 s default; a short one would make
    // the daemon's pooled connections race the fake's idle close in ways real providers don't.
    server.keepAliveTimeout = opts.keepAliveTimeoutMs ?? 65000;
    server.headersTimeout = Math.max(server.keepAliveTimeout + 1000, 60000);
    server.requestTimeout = 0;

    await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(opts.port ?? 0, host, () => {
            server.off('error', reject);
            resolve();
        });
    });
    const { port } = server.address();
    return {
        port,
        url: `http://${host}:${port}`,
        requests,
        clearRequests() {
            requests.length = 0;
        },
        close() {
            for (const res of hanging) res.destroy();
            hanging.clear();
            return new Promise((resolve) => {
                server.close(() => resolve());
                server.closeAllConnections();
            });
        },
    };
}

// ---------------------------------------------------------------------------------------------
// Command line

function isMain() {
    return process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href;
}

if (isMain()) {
    const args = process.argv.slice(2);
    const opt = (name, fallback) => {
        const i = args.indexOf(name);
        return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
    };
    const fake = await startFakeProvider({
        port: Number.parseInt(opt('--port', '0'), 10) || 0,
        host: opt('--host', '127.0.0.1'),
        requireAuth: !args.includes('--no-auth'),
    });
    process.stdout.write(`${JSON.stringify({ port: fake.port })}\n`);
    const stop = async () => {
        await fake.close();
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}
