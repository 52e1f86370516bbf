// Resilience measurement: airlockd routes one model over three OpenAI-format upstreams, one of
// which fails 30% of its requests (500, 503, connection reset, hang). Sends N
// requests (default 10,000; half streamed) with C in flight and prints the client-visible
// success rate, attempts and which targets served. Target: >= 99.99%.
// Run: AIRLOCKD=build/app/airlockd/airlockd node tests/bench/resilience_bench.mjs [N] [C]

import http from 'node:http';
import { startAirlockd, makeTempDir, removeDir } from '../e2e/lib.mjs';

const N = Number.parseInt(process.argv[2] ?? '10000', 10);
const CONCURRENCY = Number.parseInt(process.argv[3] ?? '32', 10);
const FAIL_RATE = 0.3;
const TARGET_SUCCESS = 0.9999;

// One upstream; failRate of its requests fail in one of four ways.
async function startUpstream(name, failRate) {
    const stats = { requests: 0, failed: 0 };
    const server = http.createServer((req, res) => {
        const chunks = [];
        req.on('data', (c) => chunks.push(c));
        req.on('end', () => {
            stats.requests++;
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            if (Math.random() < failRate) {
                stats.failed++;
                const kind = Math.random();
                if (kind < 0.4) {
                    res.writeHead(500, { 'content-type': 'application/json' });
                    return res.end('{"error":{"message":"boom","type":"server_error"}}');
                }
                if (kind < 0.7) {
                    // No Retry-After: the failing target stays in rotation for the whole run.
                    res.writeHead(503, { 'content-type': 'application/json' });
                    return res.end('{"error":{"message":"overloaded","type":"server_error"}}');
                }
                if (kind < 0.9) return req.socket.destroy();
                return undefined;  // hang: the first-byte timeout must catch it
            }
            const words = ['served', 'by', name];
            if (body.stream) {
                res.writeHead(200, { 'content-type': 'text/event-stream' });
                for (const w of words) {
                    res.write(`data: ${JSON.stringify({ id: name, object: 'chat.completion.chunk', model: body.model,
                        choices: [{ index: 0, delta: { content: `${w} ` }, finish_reason: null }] })}\n\n`);
                }
                res.write(`data: ${JSON.stringify({ id: name, object: 'chat.completion.chunk', model: body.model,
                    choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`);
                if (body.stream_options?.include_usage) {
                    res.write(`data: ${JSON.stringify({ id: name, object: 'chat.completion.chunk', model: body.model, choices: [],
                        usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } })}\n\n`);
                }
                return res.end('data: [DONE]\n\n');
            }
            const json = JSON.stringify({ id: name, object: 'chat.completion', created: 1, model: body.model,
                choices: [{ index: 0, message: { role: 'assistant', content: words.join(' ') }, finish_reason: 'stop' }],
                usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } });
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
            return res.end(json);
        });
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    return { name, stats, url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

function request(agent, port, stream) {
    const body = JSON.stringify({ model: 'resilient', stream, messages: [{ role: 'user', content: 'hi' }] });
    return new Promise((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v1/chat/completions', method: 'POST', agent,
            headers: { 'content-type': 'application/json', authorization: 'Bearer sk-bench',
                'content-length': Buffer.byteLength(body) } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
            res.on('error', () => resolve({ status: 0, body: '' }));
        });
        req.on('error', (e) => resolve({ status: 0, body: String(e) }));
        req.end(body);
    });
}

// A whole, unmixed answer from the target the header names.
function valid(r, stream) {
    if (r.status !== 200) return false;
    const served = (r.headers['x-airlock-target'] ?? '').split('/')[0];
    if (!served) return false;
    if (!stream) {
        try {
            return JSON.parse(r.body).choices[0].message.content === `served by ${served}`;
        } catch {
            return false;
        }
    }
    const others = ['t0', 't1', 't2'].filter((t) => t !== served);
    const count = (needle) => r.body.split(needle).length - 1;
    return r.body.endsWith('data: [DONE]\n\n') && count('[DONE]') === 1 && count('"content":"served "') === 1 &&
        count('"content":"by "') === 1 && count(`"content":"${served} "`) === 1 &&
        !others.some((o) => r.body.includes(`"id":"${o}"`));
}

const upstreams = [await startUpstream('t0', FAIL_RATE), await startUpstream('t1', 0), await startUpstream('t2', 0)];
const dataDir = await makeTempDir('airlock-resilience-');
const daemon = await startAirlockd({ dataDir, config: {
    providers: upstreams.map((u) => ({ name: u.name, format: 'openai', base_url: u.url })),
    routes: { resilient: { strategy: 'weighted',
        targets: upstreams.map((u) => ({ provider: u.name, model: `m-${u.name}`, first_byte_timeout_ms: 500 })),
        retry: { max_attempts: 3, backoff_ms: 20, max_backoff_ms: 200, deadline_ms: 10000 },
        circuit: { failure_threshold: 5, cooldown_ms: 500 } } },
} });

const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
let next = 0;
let ok = 0;
const statuses = {};
const attempts = {};
const servedBy = {};
const started = Date.now();
async function worker() {
    while (next < N) {
        const i = next++;
        const stream = i % 2 === 1;
        const r = await request(agent, daemon.port, stream);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        const a = r.headers?.['x-airlock-attempts'] ?? '?';
        attempts[a] = (attempts[a] ?? 0) + 1;
        const t = r.headers?.['x-airlock-target'] ?? 'none';
        servedBy[t] = (servedBy[t] ?? 0) + 1;
        if (valid(r, stream)) ok++;
    }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const elapsedS = (Date.now() - started) / 1000;
agent.destroy();
await daemon.stop();
for (const u of upstreams) await u.close();
await removeDir(dataDir);

const rate = ok / N;
console.log(JSON.stringify({
    requests: N, concurrency: CONCURRENCY, failing_target_fail_rate: FAIL_RATE,
    client_success: ok, client_success_rate: Number((rate * 100).toFixed(4)),
    failing_target: upstreams[0].stats, statuses, attempts, served_by: servedBy,
    elapsed_s: elapsedS, requests_per_s: Math.round(N / elapsedS),
}, null, 1));
console.log(`client-visible success: ${(rate * 100).toFixed(4)}% (target >= ${TARGET_SUCCESS * 100}%)`);
process.exit(rate >= TARGET_SUCCESS ? 0 : 1);
