// Child process of intercept_e2e.mjs: the real openai and @anthropic-ai/sdk clients reach
// api.openai.com / api.anthropic.com through HTTPS_PROXY (an explicit https-proxy-agent, since
// node 20's fetch ignores HTTPS_PROXY) and trust Airlock's CA only via NODE_EXTRA_CA_CERTS.
// Prints one JSON line: {ids: [...], results: [...]} or {error}.
// Usage: HTTPS_PROXY=http://127.0.0.1:PORT NODE_EXTRA_CA_CERTS=ca.pem node intercept_client.mjs

import https from 'node:https';
import { Readable } from 'node:stream';
import { HttpsProxyAgent } from 'https-proxy-agent';

const { default: OpenAI } = await import('openai');
const { default: Anthropic } = await import('@anthropic-ai/sdk');

const proxy = process.env.HTTPS_PROXY;
if (!proxy) {
    process.stdout.write(`${JSON.stringify({ error: 'HTTPS_PROXY is not set' })}\n`);
    process.exit(2);
}
const agent = new HttpsProxyAgent(proxy);
const ids = [];

// A WHATWG fetch over node:https with the proxy agent, so the SDKs' own request code runs
// unchanged (streaming included) while the bytes go through CONNECT.
function proxiedFetch(input, init = {}) {
    const url = new URL(typeof input === 'string' ? input : input.url);
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    return new Promise((resolve, reject) => {
        const req = https.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
            const h = new Headers();
            for (const [k, v] of Object.entries(res.headers)) {
                if (Array.isArray(v)) v.forEach((x) => h.append(k, x));
                else if (v !== undefined) h.set(k, v);
            }
            const id = h.get('x-airlock-request-id');
            if (id) ids.push(id);
            const noBody = res.statusCode === 204 || res.statusCode === 304 || init.method === 'HEAD';
            resolve(new Response(noBody ? null : Readable.toWeb(res), { status: res.statusCode, headers: h }));
        });
        req.on('error', reject);
        if (init.signal) init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')));
        if (init.body) req.end(typeof init.body === 'string' ? init.body : Buffer.from(init.body));
        else req.end();
    });
}

try {
    const results = [];
    const openai = new OpenAI({ apiKey: 'sk-e2e-openai', maxRetries: 0, fetch: proxiedFetch });
    const anthropic = new Anthropic({ apiKey: 'sk-ant-e2e', maxRetries: 0, fetch: proxiedFetch });
    const chat = await openai.chat.completions.create({
        model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello through the proxy' }],
    });
    results.push({ kind: 'openai-chat', text: chat.choices[0].message.content, usage: chat.usage });
    const stream = await openai.chat.completions.create({
        model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'stream it' }],
    });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    results.push({ kind: 'openai-stream', text: streamed });
    const msg = await anthropic.messages.create({
        model: 'claude-sonnet-4-5', max_tokens: 64, messages: [{ role: 'user', content: 'hello claude' }],
    });
    results.push({ kind: 'anthropic', text: msg.content[0].text, usage: msg.usage });
    process.stdout.write(`${JSON.stringify({ ids, results })}\n`);
} catch (e) {
    process.stdout.write(`${JSON.stringify({ error: String(e?.stack ?? e), ids })}\n`);
    process.exit(1);
}
